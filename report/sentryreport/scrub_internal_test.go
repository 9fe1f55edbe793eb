package sentryreport

import (
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
)

func TestRedactText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "db: insert failed", "db: insert failed"},
		{"key=value", "login failed password=hunter2 user=ann", "login failed password=[REDACTED] user=ann"},
		{"json", `{"username":"ann","password":"hunter2"}`, `{"username":"ann","password":"[REDACTED]"}`},
		{"bearer", "Authorization: Bearer abc.def-123456", "Authorization: [REDACTED] [REDACTED]"},
		{"bearer alone", "sent Bearer abcdef123456 upstream", "sent Bearer [REDACTED] upstream"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x", "token [REDACTED]"},
		{"url password", "dial postgres://app:s3cret@db:5432/x failed", "dial postgres://app:[REDACTED]@db:5432/x failed"},
		{"query", "GET /cb?code=1&access_token=zzz&x=1", "GET /cb?code=1&access_token=[REDACTED]&x=1"},
		{"cookie", "Cookie: session=abc123", "Cookie: [REDACTED]"},
		{"api key", "X-Api-Key: k-123", "X-Api-Key: [REDACTED]"},
		{"dsn", "SENTRY_DSN=https://key@o1.ingest/1", "SENTRY_DSN=[REDACTED]"},
		{"route kept", "GET /api/v1/users/:id", "GET /api/v1/users/:id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactText(tt.in); got != tt.want {
				t.Errorf("redactText(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// An event that a program filled in carelessly leaves with nothing secret.
func TestScrub(t *testing.T) {
	e := sentry.NewEvent()
	e.Message = "password=hunter2"
	e.Request = &sentry.Request{URL: "https://x/?token=t0k", Data: `{"password":"hunter2"}`, Cookies: "session=c00k", Headers: map[string]string{"Authorization": "Bearer t0ken123456"}}
	e.Breadcrumbs = []*sentry.Breadcrumb{{Message: "password=hunter2"}}
	e.User = sentry.User{ID: "42", Email: "ann@example.com", IPAddress: "10.0.0.1", Username: "ann"}
	e.Tags = map[string]string{"api_token": "t0k", "note": "Bearer t0ken123456"}
	e.Contexts = map[string]sentry.Context{"app": {"db_password": "hunter2", "url": "redis://:hunter2@r:6379"}}
	e.Exception = []sentry.Exception{{Value: "auth failed: password=hunter2", Stacktrace: &sentry.Stacktrace{Frames: []sentry.Frame{{ContextLine: `pw := "hunter2"`, Vars: map[string]any{"pw": "hunter2"}}}}}}
	out := scrub(e)
	b, err := out.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2", "t0k", "c00k", "ann@example.com", "10.0.0.1", `"ann"`} {
		if strings.Contains(string(b), s) {
			t.Errorf("scrubbed event contains %q: %s", s, b)
		}
	}
	if out.User.ID != "42" {
		t.Errorf("user id = %q; want 42", out.User.ID)
	}
}

func TestParseStack(t *testing.T) {
	stack := "goroutine 7 [running]:\n" +
		"runtime/debug.Stack()\n\t/go/src/runtime/debug/stack.go:26 +0x5e\n" +
		"github.com/x/y.recoverer.func1()\n\t/src/y/r.go:10 +0x1\n" +
		"panic({0x1, 0x2})\n\t/go/src/runtime/panic.go:860 +0x13a\n" +
		"github.com/x/y.(*T).handle(0xc000, {0x3, 0x4})\n\t/src/y/t.go:42 +0x1d\n" +
		"github.com/x/y.serve(...)\n\t/src/y/s.go:7\n" +
		"created by github.com/x/y.Start in goroutine 1\n\t/src/y/s.go:30 +0x25\n" +
		"github.com/x/y.trunc"
	frames := parseStack([]byte(stack))
	var got []string
	for _, f := range frames {
		got = append(got, f.Module+"|"+f.Function+"|"+f.AbsPath)
	}
	want := []string{
		"github.com/x/y|trunc|",
		"github.com/x/y|Start|/src/y/s.go",
		"github.com/x/y|serve|/src/y/s.go",
		"github.com/x/y|(*T).handle|/src/y/t.go",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("parseStack =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if frames[3].Lineno != 42 {
		t.Errorf("line = %d; want 42", frames[3].Lineno)
	}
	if parseStack(nil) != nil || len(parseStack([]byte("garbage\n\t\n"))) != 1 {
		t.Errorf("parseStack of nothing or garbage")
	}
}
