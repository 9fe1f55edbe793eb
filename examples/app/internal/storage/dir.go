package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxSize is the size limit of a [Dir] whose [DirConfig.MaxSize] is
// zero: 10 MiB, the seed's MAX_FILE_SIZE.
const DefaultMaxSize = 10 << 20

const (
	objectsDir = "objects"
	tempDir    = "tmp"
	metaSuffix = ".json"
	idLen      = 32 // hex digits of a 128-bit random ID
	maxNameLen = 255
	filePerm   = 0o640
	dirPerm    = 0o750
)

// DirConfig configures a [Dir]. Only Dir is required.
type DirConfig struct {
	// Dir is the directory holding the objects; it is created if missing.
	Dir string
	// MaxSize is the largest object Put accepts, in bytes. Zero means
	// [DefaultMaxSize]; negative values are invalid.
	MaxSize int64
	// Now returns the time recorded as Object.CreatedAt. Default time.Now.
	Now func() time.Time
}

// Dir is a [Store] on a local directory. Create it with [NewDir] and Close it
// when done. It is safe for concurrent use, also by several processes
// sharing the directory.
//
// Layout: objects/<first two ID digits>/<ID> holds the content and
// objects/<..>/<ID>.json the metadata; tmp/ holds writes in progress.
type Dir struct {
	root    *os.Root
	path    string
	maxSize int64
	now     func() time.Time
}

var _ Store = (*Dir)(nil)

// NewDir creates the directory layout if needed and returns a Dir, or an
// error if cfg is invalid or the directory cannot be used.
func NewDir(cfg DirConfig) (*Dir, error) {
	if cfg.Dir == "" {
		return nil, errors.New("storage: invalid config: Dir is required")
	}
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("storage: invalid config: MaxSize %d is negative", cfg.MaxSize)
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, dirPerm); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	for _, sub := range []string{objectsDir, tempDir} {
		if err := root.MkdirAll(sub, dirPerm); err != nil {
			root.Close()
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	return &Dir{root: root, path: cfg.Dir, maxSize: cfg.MaxSize, now: cfg.Now}, nil
}

// Close releases the directory handle. The Dir must not be used afterwards.
func (d *Dir) Close() error { return d.root.Close() }

// TempDir returns the directory where writes in progress live. Files a
// crash leaves there are never read; remove them with [CleanTemp].
func (d *Dir) TempDir() string { return filepath.Join(d.path, tempDir) }

// Put implements [Store]. It streams r into a temporary file, stopping as
// soon as r yields more than MaxSize bytes ([ErrTooLarge]) or ctx is done,
// and commits the object by renaming it into place and writing its
// metadata. On any error nothing is left behind.
func (d *Dir) Put(ctx context.Context, name, contentType string, r io.Reader) (obj Object, err error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	id := newID()
	data, meta := objectPaths(id)

	tmp, f, err := d.createTemp()
	if err != nil {
		return Object{}, err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			d.root.Remove(tmp)
		}
	}()

	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, d.maxSize+1))
	if err != nil {
		return Object{}, fmt.Errorf("storage: write %s: %w", id, err)
	}
	if n > d.maxSize {
		return Object{}, newError(http.StatusRequestEntityTooLarge, ErrTooLarge,
			fmt.Sprintf("file is larger than %d bytes", d.maxSize))
	}
	if err := syncClose(f); err != nil {
		return Object{}, fmt.Errorf("storage: write %s: %w", id, err)
	}
	if err := d.root.MkdirAll(path.Dir(data), dirPerm); err != nil {
		return Object{}, fmt.Errorf("storage: %w", err)
	}
	if err := d.root.Rename(tmp, data); err != nil {
		return Object{}, fmt.Errorf("storage: commit %s: %w", id, err)
	}
	committed = true

	obj = Object{
		ID:          id,
		Name:        cleanName(name),
		ContentType: contentType,
		Size:        n,
		CreatedAt:   d.now().UTC(),
	}
	if err := d.writeMeta(meta, obj); err != nil {
		d.root.Remove(data)
		return Object{}, err
	}
	return obj, nil
}

// Open implements [Store]. The reader is an *os.File, so it is also an
// io.ReadSeeker: pass it to http.ServeContent to answer range requests.
func (d *Dir) Open(ctx context.Context, id string) (io.ReadCloser, Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, Object{}, err
	}
	if !validID(id) {
		return nil, Object{}, notFound()
	}
	data, meta := objectPaths(id)
	b, err := d.root.ReadFile(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, notFound()
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("storage: open %s: %w", id, err)
	}
	var obj Object
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, Object{}, fmt.Errorf("storage: open %s: corrupt metadata: %w", id, err)
	}
	f, err := d.root.Open(data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, notFound()
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("storage: open %s: %w", id, err)
	}
	return f, obj, nil
}

// Delete implements [Store]. The metadata goes first, so a concurrent Open
// sees either the whole object or none.
func (d *Dir) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return notFound()
	}
	data, meta := objectPaths(id)
	err := d.root.Remove(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound()
	}
	if err != nil {
		return fmt.Errorf("storage: delete %s: %w", id, err)
	}
	if err := d.root.Remove(data); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %s: %w", id, err)
	}
	return nil
}

// writeMeta writes obj as JSON to name atomically.
func (d *Dir) writeMeta(name string, obj Object) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	tmp, f, err := d.createTemp()
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		d.root.Remove(tmp)
		return fmt.Errorf("storage: write metadata %s: %w", obj.ID, err)
	}
	if err := syncClose(f); err != nil {
		d.root.Remove(tmp)
		return fmt.Errorf("storage: write metadata %s: %w", obj.ID, err)
	}
	if err := d.root.Rename(tmp, name); err != nil {
		d.root.Remove(tmp)
		return fmt.Errorf("storage: commit metadata %s: %w", obj.ID, err)
	}
	return nil
}

// createTemp creates a new empty file in the temp directory.
func (d *Dir) createTemp() (string, *os.File, error) {
	name := path.Join(tempDir, newID()+".part")
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return "", nil, fmt.Errorf("storage: %w", err)
	}
	return name, f, nil
}

func syncClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func notFound() error {
	return newError(http.StatusNotFound, ErrNotFound, "file not found")
}

// newID returns 128 random bits as 32 lowercase hex digits.
func newID() string {
	var b [idLen / 2]byte
	rand.Read(b[:]) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b[:])
}

// validID reports whether id has the exact shape newID produces. It is the
// only gate between a client's string and a path.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// objectPaths returns the data and metadata paths of a valid ID.
func objectPaths(id string) (data, meta string) {
	data = path.Join(objectsDir, id[:2], id)
	return data, data + metaSuffix
}

// cleanName reduces a client's file name to a display name: the last path
// element (with / or \ as separators), valid UTF-8 without control
// characters, at most 255 bytes, and "file" if nothing is left.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxNameLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	name = strings.TrimSpace(name) // the cut may leave a space at the end
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// ctxReader stops reading once ctx is done, so a cancelled upload does not
// keep writing to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
