package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/storage"
)

// An upload handler validates the file, then stores it under the content
// type the check returned.
func Example() {
	dir, _ := os.MkdirTemp("", "files")
	defer os.RemoveAll(dir)

	store, err := storage.NewDir(storage.DirConfig{Dir: dir, MaxSize: 10 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	policy := storage.Policy{MaxSize: 10 << 20, Extensions: []string{"txt", "png"}}

	name, content := "notes.txt", "remember the milk\n"
	contentType, err := policy.Validate(name, int64(len(content)), []byte(content))
	if err != nil {
		log.Fatal(err) // a handler returns it: 413 or 415
	}
	ctx := context.Background()
	obj, err := store.Put(ctx, name, contentType, strings.NewReader(content))
	if err != nil {
		log.Fatal(err)
	}

	rc, got, err := store.Open(ctx, obj.ID)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	fmt.Println(got.Name, got.ContentType, got.Size)
	fmt.Print(string(b))
	// Output:
	// notes.txt text/plain; charset=utf-8 18
	// remember the milk
}

// A PHP script renamed to look like an image is refused by its content.
func ExamplePolicy_Validate() {
	_, err := storage.Policy{}.Validate("avatar.png", 28, []byte("<?php system($_GET['c']); ?>"))

	var se *storage.Error
	if errors.As(err, &se) {
		fmt.Println(se.HTTPStatus(), se.PublicMessage())
	}
	fmt.Println(errors.Is(err, storage.ErrUnsupportedType))
	// Output:
	// 415 file content (text/plain) does not match its extension "png"
	// true
}

// The daily clean-up job removes what crashed writes left behind.
func ExampleCleanTemp() {
	dir, _ := os.MkdirTemp("", "files")
	defer os.RemoveAll(dir)
	store, err := storage.NewDir(storage.DirConfig{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	removed, err := storage.CleanTemp(context.Background(), store.TempDir(), 24*time.Hour)
	fmt.Println(removed, err)
	// Output: 0 <nil>
}
