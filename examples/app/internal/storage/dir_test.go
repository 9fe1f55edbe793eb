package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/storage"
)

// newDir returns a Dir in a fresh temporary directory, closed when the test
// ends.
func newDir(tb testing.TB, cfg storage.DirConfig) *storage.Dir {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(tb.TempDir(), "files")
	}
	d, err := storage.NewDir(cfg)
	if err != nil {
		tb.Fatalf("NewDir: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// files lists every regular file under root, relative to it.
func files(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func readAll(tb testing.TB, d *storage.Dir, id string) ([]byte, storage.Object) {
	tb.Helper()
	rc, obj, err := d.Open(tb.Context(), id)
	if err != nil {
		tb.Fatalf("Open(%q): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %q: %v", id, err)
	}
	return b, obj
}

func TestDirRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 30, 0, 0, time.FixedZone("JST", 9*3600))
	d := newDir(t, storage.DirConfig{Now: func() time.Time { return now }})
	ctx := t.Context()

	obj, err := d.Put(ctx, "photo.png", "image/png", strings.NewReader("hello"))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	want := storage.Object{ID: obj.ID, Name: "photo.png", ContentType: "image/png", Size: 5, CreatedAt: now.UTC()}
	if obj != want {
		t.Errorf("Put = %+v; want %+v", obj, want)
	}
	if len(obj.ID) != 32 || strings.Trim(obj.ID, "0123456789abcdef") != "" {
		t.Errorf("ID = %q; want 32 lowercase hex digits", obj.ID)
	}

	got, gotObj := readAll(t, d, obj.ID)
	if string(got) != "hello" || gotObj != want {
		t.Errorf("Open = %q, %+v; want %q, %+v", got, gotObj, "hello", want)
	}

	if err := d.Delete(ctx, obj.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := d.Open(ctx, obj.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open after Delete: err = %v; want ErrNotFound", err)
	}
	if err := d.Delete(ctx, obj.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Delete: err = %v; want ErrNotFound", err)
	}
}

func TestDirDefaults(t *testing.T) {
	d := newDir(t, storage.DirConfig{})
	obj, err := d.Put(t.Context(), "", "", strings.NewReader(""))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if obj.Name != "file" || obj.ContentType != "application/octet-stream" || obj.Size != 0 || obj.CreatedAt.IsZero() {
		t.Errorf("Put(empty) = %+v; want name file, application/octet-stream, size 0, a creation time", obj)
	}
}

func TestDirSizeLimit(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{name: "under", size: limit - 1},
		{name: "at limit", size: limit},
		{name: "one over", size: limit + 1, wantErr: storage.ErrTooLarge},
		{name: "far over", size: 50 * limit, wantErr: storage.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "files")
			d := newDir(t, storage.DirConfig{Dir: root, MaxSize: limit})
			obj, err := d.Put(t.Context(), "a.bin", "", bytes.NewReader(make([]byte, tt.size)))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put(%d bytes) err = %v; want %v", tt.size, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if obj.Size != int64(tt.size) {
					t.Errorf("Size = %d; want %d", obj.Size, tt.size)
				}
				return
			}
			var se *storage.Error
			if !errors.As(err, &se) || se.HTTPStatus() != 413 || se.ErrorType() != "payload_too_large" {
				t.Errorf("Put error = %#v; want a *storage.Error with status 413", err)
			}
			if left := files(t, root); len(left) != 0 {
				t.Errorf("files left after a refused Put: %v", left)
			}
		})
	}
}

// TestDirPathTraversal shows that no client string reaches the file system:
// names are only metadata and IDs must be exactly 32 hex digits.
func TestDirPathTraversal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "a", "files")
	d := newDir(t, storage.DirConfig{Dir: root})
	ctx := t.Context()

	victim := filepath.Join(base, "a", "victim.txt")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("name", func(t *testing.T) {
		for _, name := range []string{"../../etc/passwd", `..\..\windows\win.ini`, "/etc/passwd", "../victim.txt"} {
			obj, err := d.Put(ctx, name, "text/plain", strings.NewReader("evil"))
			if err != nil {
				t.Fatalf("Put(%q): %v", name, err)
			}
			if strings.ContainsAny(obj.Name, `/\`) || obj.Name == ".." {
				t.Errorf("Put(%q).Name = %q; want a bare file name", name, obj.Name)
			}
		}
		for _, f := range files(t, base) {
			if !strings.HasPrefix(f, "a/files/objects/") && f != "a/victim.txt" {
				t.Errorf("file %s written outside the object directory", f)
			}
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep me" {
			t.Errorf("victim file changed: %q", b)
		}
	})

	obj, err := d.Put(ctx, "ok.txt", "text/plain", strings.NewReader("ok"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"../../etc/passwd",
		"../victim.txt",
		"/etc/passwd",
		"",
		".",
		strings.ToUpper(obj.ID),
		obj.ID + "/../" + obj.ID,
		obj.ID + ".json",
		obj.ID[:31],
		obj.ID[:30] + "..",
		"objects/" + obj.ID[:2] + "/" + obj.ID,
	}
	for _, id := range ids {
		t.Run("id "+id, func(t *testing.T) {
			if _, _, err := d.Open(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Open(%q) err = %v; want ErrNotFound", id, err)
			}
			if err := d.Delete(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Delete(%q) err = %v; want ErrNotFound", id, err)
			}
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("victim file changed: %q", b)
	}
	if got, _ := readAll(t, d, obj.ID); string(got) != "ok" {
		t.Errorf("object changed by the attempts: %q", got)
	}
}

func TestDirNotFoundContract(t *testing.T) {
	d := newDir(t, storage.DirConfig{})
	_, _, err := d.Open(t.Context(), strings.Repeat("0", 32))
	var se interface {
		HTTPStatus() int
		ErrorType() string
		PublicMessage() string
	}
	if !errors.As(err, &se) {
		t.Fatalf("Open(missing) err = %v; want one implementing the error contract", err)
	}
	if se.HTTPStatus() != 404 || se.ErrorType() != "not_found" || se.PublicMessage() != "file not found" {
		t.Errorf("got %d %q %q; want 404 not_found %q", se.HTTPStatus(), se.ErrorType(), se.PublicMessage(), "file not found")
	}
}

type failingReader struct{ after int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.after)
	r.after -= n
	return n, nil
}

// cancellingReader cancels its context after the first read.
type cancellingReader struct{ cancel context.CancelFunc }

func (r cancellingReader) Read(p []byte) (int, error) {
	r.cancel()
	return len(p), nil
}

func TestDirPutFailureLeavesNothing(t *testing.T) {
	tests := []struct {
		name    string
		reader  func(cancel context.CancelFunc) io.Reader
		wantErr error
	}{
		{name: "reader error", reader: func(context.CancelFunc) io.Reader { return &failingReader{after: 100} }},
		{name: "context cancelled mid-upload", reader: func(c context.CancelFunc) io.Reader { return cancellingReader{c} }, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "files")
			d := newDir(t, storage.DirConfig{Dir: root})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := d.Put(ctx, "x.txt", "", tt.reader(cancel))
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Put err = %v; want an error (%v)", err, tt.wantErr)
			}
			if left := files(t, root); len(left) != 0 {
				t.Errorf("files left after a failed Put: %v", left)
			}
		})
	}
}

func TestDirConcurrent(t *testing.T) {
	d := newDir(t, storage.DirConfig{})
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			body := strings.Repeat(string(rune('a'+i)), 1000+i)
			obj, err := d.Put(ctx, "f.txt", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Errorf("Put: %v", err)
				return
			}
			got, _ := readAll(t, d, obj.ID)
			if string(got) != body {
				t.Errorf("object %s: read %d bytes; want %d", obj.ID, len(got), len(body))
			}
			if err := d.Delete(ctx, obj.ID); err != nil {
				t.Errorf("Delete: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestNewDirInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  storage.DirConfig
	}{
		{name: "no dir", cfg: storage.DirConfig{}},
		{name: "negative size", cfg: storage.DirConfig{Dir: t.TempDir(), MaxSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, err := storage.NewDir(tt.cfg); err == nil {
				d.Close()
				t.Errorf("NewDir(%+v) succeeded; want an error", tt.cfg)
			}
		})
	}
}

func TestObjectContentDisposition(t *testing.T) {
	tests := []struct{ name, want string }{
		{name: "report.xlsx", want: "attachment; filename=report.xlsx"},
		{name: `my "file".pdf`, want: `attachment; filename="my \"file\".pdf"`},
		{name: "写真.png", want: "attachment; filename*=utf-8''%E5%86%99%E7%9C%9F.png"},
	}
	for _, tt := range tests {
		if got := (storage.Object{Name: tt.name}).ContentDisposition(); got != tt.want {
			t.Errorf("ContentDisposition(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}
