package config_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// load runs config.Load on a fresh Settings with env as the whole
// environment, no .env file and a discarding logger; opts come last and win.
func load(tb testing.TB, env map[string]string, opts ...config.Option) (config.Settings, error) {
	tb.Helper()
	var s config.Settings
	all := append([]config.Option{
		config.WithEnv(env), config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	err := config.Load(&s, all...)
	return s, err
}

// mustLoad is load that fails the test on error.
func mustLoad(tb testing.TB, env map[string]string, opts ...config.Option) config.Settings {
	tb.Helper()
	s, err := load(tb, env, opts...)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return s
}

// fieldErrors returns the FieldErrors inside err, failing if err is not a
// *config.Error.
func fieldErrors(tb testing.TB, err error) []config.FieldError {
	tb.Helper()
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		tb.Fatalf("error = %v (%T); want a *config.Error", err, err)
	}
	return cerr.Fields
}

// writeFile writes content to dir/name and returns the path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// logBuffer is a concurrency-safe buffer for a test's logger.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogger returns a text logger writing into a buffer the test can read.
func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// prodEnv returns a valid production environment plus extra.
func prodEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"ENVIRONMENT":   "production",
		"SECRET_KEY":    strings.Repeat("k", 32),
		"ALLOWED_HOSTS": "api.example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}
