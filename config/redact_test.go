package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

const (
	secretKey    = "sekrit-key-0123456789-0123456789-abc"
	smtpPassword = "smtp-pa55word"
	sentryDSN    = "https://pubkey123@o1.ingest.sentry.io/42"
	dbPassword   = "db-pa55word"
	redisPass    = "redis-pa55word"
)

// secretSettings returns loaded settings holding every kind of secret.
func secretSettings(tb testing.TB) config.Settings {
	tb.Helper()
	return mustLoad(tb, map[string]string{
		"SECRET_KEY":   secretKey,
		"SENTRY_DSN":   sentryDSN,
		"DATABASE_URL": "postgres://app:" + dbPassword + "@db.internal:5432/app?sslmode=disable",
		"REDIS_URL":    "redis://:" + redisPass + "@cache.internal:6379/0",
		"DOCS_ENABLED": "true",
	})
}

// TestRedaction prints the settings every way a program might and checks no
// secret shows while the rest still does.
func TestRedaction(t *testing.T) {
	t.Parallel()
	s := secretSettings(t)
	slogOut := func(h func(*bytes.Buffer) slog.Handler) string {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("settings", "settings", s)
		return buf.String()
	}
	paths := []struct {
		name string
		out  string
	}{
		{"%v", fmt.Sprintf("%v", s)},
		{"%+v", fmt.Sprintf("%+v", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%d", fmt.Sprintf("%d", s)},
		{"%x", fmt.Sprintf("%x", s)},
		{"pointer %+v", fmt.Sprintf("%+v", &s)},
		{"in a slice", fmt.Sprint([]config.Settings{s})},
		{"in a map", fmt.Sprintf("%+v", map[string]config.Settings{"s": s})},
		{"in an exported field", fmt.Sprintf("%+v", struct{ S config.Settings }{s})},
		{"Println", fmt.Sprintln(s)},
		{"String", s.String()},
		{"GoString", s.GoString()},
		{"slog JSON", slogOut(func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) })},
		{"slog text", slogOut(func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) })},
		{"json.Marshal", func() string { b, err := json.Marshal(s); must(t, err); return string(b) }()},
		{"json.Marshal pointer", func() string { b, err := json.Marshal(&s); must(t, err); return string(b) }()},
		{"Table", func() string { rows, err := config.Table(s); must(t, err); return fmt.Sprint(rows) }()},
		{"WriteMarkdown", func() string { var b strings.Builder; must(t, config.WriteMarkdown(&b, s)); return b.String() }()},
	}
	secrets := []string{secretKey, sentryDSN, "pubkey123", dbPassword, redisPass}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			out := p.out
			for _, sec := range secrets {
				if strings.Contains(out, sec) {
					t.Errorf("%s output shows secret %q:\n%s", p.name, sec, out)
				}
			}
			// The output is still useful: non-secret values are there.
			if p.name != "json.Marshal" && p.name != "json.Marshal pointer" && p.name != "WriteMarkdown" {
				if !strings.Contains(out, "db.internal") {
					t.Errorf("%s output lost the database host:\n%s", p.name, out)
				}
			}
		})
	}
	t.Run("markers", func(t *testing.T) {
		t.Parallel()
		out := s.String()
		for _, w := range []string{"SecretKey:[REDACTED]", "SentryDSN:[REDACTED]",
			"DatabaseURL:postgres://app:xxxxx@db.internal:5432/app?sslmode=disable", "RedisURL:redis://:xxxxx@cache.internal:6379/0",
			"DocsEnabled:true", "ProjectName:Gantry App", "Description: "} {
			if !strings.Contains(out, w) {
				t.Errorf("String() = %s\nwant it to contain %q", out, w)
			}
		}
		if gs := s.GoString(); !strings.HasPrefix(gs, `config.Settings{ProjectName:"Gantry App"`) || !strings.Contains(gs, `SecretKey:"[REDACTED]"`) || !strings.Contains(gs, "DocsEnabled:&true") {
			t.Errorf("GoString() = %s", gs)
		}
	})
	t.Run("empty secrets stay empty", func(t *testing.T) {
		t.Parallel()
		e := mustLoad(t, map[string]string{"SECRET_KEY": "x"})
		if out := e.String(); !strings.Contains(out, "SentryDSN: ") || !strings.Contains(out, "DocsEnabled:<nil>") {
			t.Errorf("String() = %s; want empty SentryDSN and nil DocsEnabled", out)
		}
	})
	t.Run("field errors", func(t *testing.T) {
		t.Parallel()
		_, err := load(t, map[string]string{
			"ENVIRONMENT":  "production",
			"SECRET_KEY":   "short-" + smtpPassword,
			"DATABASE_URL": "mysql://app:" + dbPassword + "@db/app",
			"REDIS_URL":    "redis://:" + redisPass + "@cache:notaport:x/0",
		})
		if err == nil {
			t.Fatal("Load() = nil; want errors")
		}
		for _, sec := range secrets {
			if strings.Contains(err.Error(), sec) || strings.Contains(fmt.Sprintf("%+v", err), sec) {
				t.Errorf("error shows secret %q: %v", sec, err)
			}
		}
	})
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"no password", "postgres://app@db:5432/app", "postgres://app@db:5432/app"},
		{"password", "postgres://app:pw@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"redis password only", "redis://:pw@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"password in query", "postgres://db/app?user=app&password=pw&sslmode=require", "postgres://db/app?password=xxxxx&sslmode=require&user=app"},
		{"token in query", "https://api.example/?access_token=t", "https://api.example/?access_token=xxxxx"},
		{"key=value dsn", "host=db user=app password=pw", config.RedactedText},
		{"no scheme", "app:pw@db:5432/app", config.RedactedText},
		{"sqlite path", "sqlite:///var/lib/app.db", "sqlite:///var/lib/app.db"},
		{"unix socket", "unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"},
		{"user info read as a fragment", "A:#://u:pw@0", config.RedactedText},
		{"user info read as a path", "redis:/u:pw@cache:6379", config.RedactedText},
		{"user info after a bad port", "redis://cache:x/u:pw@h", config.RedactedText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := config.Redacted(tt.in); got != tt.want {
				t.Errorf("Redacted(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
