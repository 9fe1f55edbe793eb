package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// OutboxConfig configures an [Outbox]. Dir and From are required.
type OutboxConfig struct {
	// Dir is the directory the .eml files are written to; it is created
	// if missing.
	Dir string
	// From is the sender address of messages whose From is empty.
	From string
	// Logger receives one info line per message (recipients, subject and
	// file; never the body). Default slog.Default().
	Logger *slog.Logger
	// Now returns the time used in file names. Default time.Now.
	Now func() time.Time
}

// Outbox is a [Sender] for development: instead of sending, it writes each
// message as an RFC 5322 .eml file (which any mail client opens) into a
// directory and logs it. Files are named
// <UTC time>-<random>.eml, so they sort by time, and are written
// atomically, so a reader never sees half a message. Create it with
// [NewOutbox]; it is safe for concurrent use.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
}

var _ Sender = (*Outbox)(nil)

// NewOutbox creates the directory if needed and returns an Outbox, or an
// error if cfg is invalid.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	var errs []error
	if cfg.Dir == "" {
		errs = append(errs, errors.New("missing Dir"))
	}
	if cfg.From == "" {
		errs = append(errs, errors.New("missing From"))
	} else if err := checkAddress("from", cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("bad From: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mail: invalid outbox config: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	return &Outbox{dir: cfg.Dir, from: cfg.From, log: cfg.Logger.With("component", "mail"), now: cfg.Now}, nil
}

// Dir returns the directory the messages are written to.
func (o *Outbox) Dir() string { return o.dir }

// Send implements [Sender]: it validates msg and writes it to a new .eml
// file in the outbox directory.
func (o *Outbox) Send(ctx context.Context, msg Message) error {
	m, err := build(msg, o.from)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	var suffix [4]byte
	rand.Read(suffix[:])
	name := o.now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(suffix[:]) + ".eml"
	path := filepath.Join(o.dir, name)

	tmp, err := os.CreateTemp(o.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := m.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: outbox: write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: outbox: write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}

	o.log.LogAttrs(ctx, slog.LevelInfo, "mail written to outbox",
		slog.Any("to", msg.To), slog.String("subject", msg.Subject), slog.String("file", path))
	return nil
}
