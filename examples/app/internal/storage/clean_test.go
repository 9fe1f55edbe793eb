package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/storage"
)

func TestCleanTemp(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "tmp")
	outside := filepath.Join(base, "precious.txt")
	old := time.Now().Add(-48 * time.Hour)

	write := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(outside, old, old); err != nil {
		t.Fatal(err)
	}
	write("old.part", old)
	write("older.part", old.Add(-time.Hour))
	write("fresh.part", time.Now())
	write("sub/old-in-subdir.part", old)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "sub"), old, old); err != nil {
		t.Fatal(err)
	}
	removed, err := storage.CleanTemp(t.Context(), dir, 24*time.Hour)
	if err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	// The link is fresh (its own mtime), so it stays; its target is never
	// followed or removed.
	if want := []string{"fresh.part", "link", "sub"}; removed != 2 || !slices.Equal(left, want) {
		t.Errorf("CleanTemp removed %d, left %v; want 2 removed, left %v", removed, left, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "old-in-subdir.part")); err != nil {
		t.Errorf("file in a subdirectory was touched: %v", err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Errorf("link target changed: %q, %v", b, err)
	}

	// An old link is removed as a link: its target survives.
	removed, err = storage.CleanTemp(t.Context(), dir, -time.Hour)
	if err != nil || removed != 2 {
		t.Errorf("CleanTemp(everything) = %d, %v; want 2 (fresh.part and link), nil", removed, err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Errorf("link target removed or changed: %q, %v", b, err)
	}
}

func TestCleanTempEdges(t *testing.T) {
	t.Run("missing dir", func(t *testing.T) {
		n, err := storage.CleanTemp(t.Context(), filepath.Join(t.TempDir(), "nope"), time.Hour)
		if n != 0 || err != nil {
			t.Errorf("CleanTemp(missing) = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a"), nil, 0o600)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		n, err := storage.CleanTemp(ctx, dir, -time.Hour)
		if n != 0 || !errors.Is(err, context.Canceled) {
			t.Errorf("CleanTemp(cancelled) = %d, %v; want 0, context.Canceled", n, err)
		}
	})
	t.Run("store temp dir", func(t *testing.T) {
		d := newDir(t, storage.DirConfig{})
		os.WriteFile(filepath.Join(d.TempDir(), "crashed.part"), []byte("half"), 0o600)
		if n, err := storage.CleanTemp(t.Context(), d.TempDir(), -time.Hour); n != 1 || err != nil {
			t.Errorf("CleanTemp(TempDir) = %d, %v; want 1, nil", n, err)
		}
	})
}
