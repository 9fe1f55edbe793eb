package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CleanTemp removes the regular files and symbolic links directly inside
// dir that were last modified more than olderThan ago, and returns how many
// it removed. It does not descend into subdirectories and never follows a
// link (a link is removed, not its target). It stops early, returning
// ctx's error, when ctx is done; a file it cannot remove is reported in the
// joined error while it goes on with the others. A missing dir is not an
// error.
//
// The example app's daily clean-up job runs it on [Dir.TempDir] (and on
// its own scratch directories) with olderThan of a day, so writes in
// progress are never touched.
func CleanTemp(ctx context.Context, dir string, olderThan time.Duration) (removed int, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: clean %s: %w", dir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if e.IsDir() {
			continue
		}
		info, err := e.Info() // Lstat: describes a link, not its target
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.Mode().IsRegular() && info.Mode()&fs.ModeSymlink == 0 {
			continue // sockets, pipes, devices: not ours
		}
		if !info.ModTime().Before(cutoff) {
			continue
		}
		err = os.Remove(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("storage: clean %s: %w", dir, err)
	}
	return removed, nil
}
