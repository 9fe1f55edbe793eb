package mail_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	o, err := mail.NewOutbox(mail.OutboxConfig{
		Dir:    dir,
		From:   "Gantry <noreply@example.com>",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}

	msg := mail.Message{To: []string{"alice@example.com"}, Subject: "Reset your password", Text: "Use this link.", HTML: "<a href=\"https://example.com\">Reset</a>"}
	for range 2 {
		if err := o.Send(t.Context(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files; want 2 (one per message, no temporary files)", len(entries))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "20261127T090000.000000000Z-") || filepath.Ext(e.Name()) != ".eml" {
			t.Errorf("file name %q; want <UTC time>-<random>.eml", e.Name())
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := parse(t, raw)
		want := parsed{From: `"Gantry" <noreply@example.com>`, To: "<alice@example.com>", Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML}
		if got != want {
			t.Errorf("%s =\n%+v\nwant\n%+v", e.Name(), got, want)
		}
	}

	var line struct {
		Msg, Subject, File string
		To                 []string
	}
	first, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("log line %q: %v", first, err)
	}
	if line.Msg != "mail written to outbox" || line.Subject != msg.Subject || len(line.To) != 1 ||
		filepath.Dir(line.File) != dir || strings.Contains(logs.String(), "Use this link") {
		t.Errorf("log line = %s; want message, recipients, subject and file, and no body", first)
	}
}

func TestOutboxRefusesInjection(t *testing.T) {
	dir := t.TempDir()
	o, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: "noreply@example.com", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = o.Send(t.Context(), mail.Message{To: []string{"a@example.com"}, Subject: "x\r\nBcc: victim@example.com", Text: "x"})
	if !errors.Is(err, mail.ErrHeaderInjection) {
		t.Errorf("Send err = %v; want ErrHeaderInjection", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("outbox holds %d files after a refused message; want 0", len(entries))
	}
}

func TestNewOutboxInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  mail.OutboxConfig
	}{
		{name: "no dir", cfg: mail.OutboxConfig{From: "a@example.com"}},
		{name: "no from", cfg: mail.OutboxConfig{Dir: t.TempDir()}},
		{name: "bad from", cfg: mail.OutboxConfig{Dir: t.TempDir(), From: "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mail.NewOutbox(tt.cfg); err == nil {
				t.Errorf("NewOutbox(%+v) succeeded; want an error", tt.cfg)
			}
		})
	}
}
