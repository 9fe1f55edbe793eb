package storage_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/storage"
	"github.com/gantry-dev/gantry/openapi"
)

// An upload handler gets the file checked by openapi (an openapi.File
// field of its input), then stores it under the content type the check
// returned.
func Example() {
	dir, _ := os.MkdirTemp("", "files")
	defer os.RemoveAll(dir)

	store, err := storage.NewDir(storage.DirConfig{Dir: dir, MaxSize: 10 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	policy := openapi.UploadPolicy{MaxSize: 10 << 20, Extensions: []string{"txt", "png"}}

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
