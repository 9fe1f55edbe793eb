package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
	"github.com/gantry-dev/gantry/server/servertest"
)

// TestRegistrationWelcomeMail runs the app's API and its worker in
// process, on the embedded defaults (SQLite, memory jobs, mails as files)
// and on PostgreSQL + Redis (mails to an SMTP server): a registration
// sends exactly one welcome mail, through the outbox and the worker's
// relay; a registration whose insert fails (the e-mail or username is
// taken) sends none and leaves no outbox row.
func TestRegistrationWelcomeMail(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		testRegistrationMail(t, map[string]string{"DATA_DIR": data}, func() int {
			ents, _ := os.ReadDir(filepath.Join(data, "outbox"))
			return len(ents)
		})
	})
	t.Run("postgres+redis", func(t *testing.T) {
		t.Parallel()
		dsn := testenv.PostgresDSN(t)
		_, prefix := testenv.Redis(t)
		sink := newSMTPSink(t)
		testRegistrationMail(t, map[string]string{
			"DATA_DIR": t.TempDir(), "DATABASE_URL": dsn, "REDIS_URL": testenv.RedisURL(), "REDIS_KEY_PREFIX": prefix,
			"EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": sink.port, "EMAIL_SMTP_FROM": "app@example.com",
		}, func() int { return sink.count(t) })
	})
}

func testRegistrationMail(t *testing.T, extra map[string]string, mails func() int) {
	env := map[string]string{"SECRET_KEY": strings.Repeat("outbox-key-", 4), "PASSWORD_HASH_COST": "4", "LOG_LEVEL": "error"}
	for k, v := range extra {
		env[k] = v
	}
	cfg := new(settings)
	if err := config.Load(cfg, config.WithDotEnv(""), config.WithEnv(env), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	base := servertest.Start(t, srv)
	c := &client{t: t, base: base}

	// Refused registrations first, with no worker running: nothing may
	// wait in the outbox for it.
	c.want(201, "POST", "/api/v1/auth/register", map[string]string{"username": "alice", "email": "alice@example.com", "password": "alice-password"})
	c.want(409, "POST", "/api/v1/auth/register", map[string]string{"username": "alice2", "email": "ALICE@example.com", "password": "alice-password"})
	c.want(409, "POST", "/api/v1/auth/register", map[string]string{"username": "Alice", "email": "other@example.com", "password": "alice-password"})
	var rows int
	if err := a.db.GetContext(ctx, &rows, "SELECT count(*) FROM gantry_outbox"); err != nil || rows != 1 {
		t.Fatalf("outbox rows = %d, %v; want 1 (alice's welcome), none for the refused registrations", rows, err)
	}
	if n := mails(); n != 0 {
		t.Fatalf("%d mails before the worker runs; want 0", n)
	}

	run, err := a.newWorker("email=1,default=1")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- run(wctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for mails() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no welcome mail within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.want(201, "POST", "/api/v1/auth/register", map[string]string{"username": "bob", "email": "bob@example.com", "password": "bob-password"})
	c.want(409, "POST", "/api/v1/auth/register", map[string]string{"username": "bob2", "email": "bob@example.com", "password": "bob-password"})
	for mails() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no welcome mail for bob within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second mail to anyone would arrive now
	if n := mails(); n != 2 {
		t.Errorf("%d mails; want 2 (one welcome per registered user)", n)
	}
	if err := a.db.GetContext(ctx, &rows, "SELECT count(*) FROM gantry_outbox"); err != nil || rows != 0 {
		t.Errorf("outbox rows = %d, %v; want 0", rows, err)
	}
}
