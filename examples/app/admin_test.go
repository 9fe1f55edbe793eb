package main

// The admin routes must never leave the service without an administrator:
// an admin cannot delete, demote or deactivate their own account, and the
// last active superuser cannot be deleted or deactivated by anyone, even
// when two superusers try to remove each other at the same moment. These
// tests run the real app in-process, on the embedded defaults and on
// PostgreSQL.

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
	"github.com/gantry-dev/gantry/server/servertest"
)

// liveApp is the real app (real database, migrations, bootstrap, server)
// running in-process.
type liveApp struct {
	*app
	base string
	logs *testenv.Buffer
}

// newLiveApp builds the app with newApp, as run does, from env on top of
// test defaults, migrates it, creates the superuser "root" and serves it
// until the test ends. Each of adjust may replace a dependency before the
// server is built.
func newLiveApp(t *testing.T, extra map[string]string, adjust ...func(*app)) *liveApp {
	t.Helper()
	env := map[string]string{
		"DATA_DIR":                 t.TempDir(),
		"SECRET_KEY":               strings.Repeat("live-secret-", 4),
		"PASSWORD_HASH_COST":       "4",
		"FIRST_SUPERUSER":          "root",
		"FIRST_SUPERUSER_PASSWORD": "root-password-1",
		"AUTH_RATE_LIMIT_REQUESTS": "1000",
		"RATE_LIMIT_REQUESTS":      "100000",
		"LOG_LEVEL":                "warn",
		"LOG_FORMAT":               "json", // tests read the log as JSON (development logs text by default)
	}
	maps.Copy(env, extra)
	cfg := new(settings)
	if err := config.Load(cfg, config.WithDotEnv(""), config.WithEnv(env), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	a, err := newApp(t.Context(), cfg, cfg.NewLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() { // the errors, then the end of the log
			var errs []string
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, `"level":"ERROR"`) && len(errs) < 10 {
					errs = append(errs, line)
				}
			}
			t.Logf("app errors:\n%s\napp log:\n%s", strings.Join(errs, ""), tail(logs.String(), 3000))
		}
	})
	if err := a.migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.bootstrap(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, f := range adjust {
		f(a)
	}
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	return &liveApp{app: a, base: servertest.Start(t, srv), logs: logs}
}

// user creates a user straight in the store and returns it with a client
// holding a fresh access token of it.
func (l *liveApp) user(t *testing.T, name string, role string, superuser bool) (User, *client) {
	t.Helper()
	u := User{Username: name, Email: name + "@example.com", HashedPassword: "x", Role: role, Active: true, Superuser: superuser}
	if err := l.users.Create(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	pair, err := l.tokens.IssuePair(t.Context(), u.subject(), userScopes, u.roles())
	if err != nil {
		t.Fatal(err)
	}
	return u, &client{t: t, base: l.base, token: pair.AccessToken}
}

// activeSuperusers counts the live, active superusers.
func (l *liveApp) activeSuperusers(t *testing.T) int64 {
	t.Helper()
	n, err := l.users.Count(t.Context(), crud.Query{Filters: activeSuperuserFilters})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// backends runs fn on the embedded defaults and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, l *liveApp)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, newLiveApp(t, nil))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, newLiveApp(t, map[string]string{"DATABASE_URL": testenv.PostgresDSN(t)}))
	})
}

// wantError asserts an envelope with status and type.
func wantError(t *testing.T, c *client, status int, typ, method, path string, body any) {
	t.Helper()
	out := c.want(status, method, path, body)
	if e := out["error"].(map[string]any); str(e["type"]) != typ || str(e["message"]) == "" {
		t.Errorf("%s %s: envelope %v; want type %q with a message", method, path, e, typ)
	}
}

func TestAdminCannotRemoveThemselves(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, l *liveApp) {
		root := login(t, l.base, "root", "root-password-1")
		me := root.want(200, "GET", "/api/v1/users/me", nil)
		self := fmt.Sprintf("/api/v1/users/%d", int64(me["id"].(float64)))
		admin, ann := l.user(t, "ann", RoleAdmin, false)
		annSelf := "/api/v1/users/" + admin.subject()

		wantError(t, root, 409, "own_account", "DELETE", self, nil)
		wantError(t, root, 409, "own_account", "PATCH", self, map[string]any{"is_active": false})
		wantError(t, root, 409, "own_account", "PATCH", self, map[string]any{"role": "user"})
		wantError(t, ann, 409, "own_account", "DELETE", annSelf, nil)
		wantError(t, ann, 409, "own_account", "PATCH", annSelf, map[string]any{"role": "user"})
		wantError(t, ann, 409, "own_account", "PATCH", annSelf, map[string]any{"is_active": false})
		// A change that removes nothing is not refused.
		root.want(200, "GET", "/api/v1/users/me", nil)
		ann.want(200, "GET", "/api/v1/users/me", nil)
		ann.want(200, "PATCH", annSelf, map[string]any{"is_active": true})
		ann.want(200, "PATCH", annSelf, map[string]any{"role": "admin"}) // revokes ann's tokens: roles live in them
		if n := l.activeSuperusers(t); n != 1 {
			t.Errorf("%d active superusers after refused self-removals; want 1", n)
		}
	})
}

func TestLastSuperuserStays(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, l *liveApp) {
		root := login(t, l.base, "root", "root-password-1")
		rootID := int64(root.want(200, "GET", "/api/v1/users/me", nil)["id"].(float64))
		rootPath := fmt.Sprintf("/api/v1/users/%d", rootID)
		_, ann := l.user(t, "ann", RoleAdmin, false)

		// Another admin cannot remove the only superuser.
		wantError(t, ann, 409, "last_superuser", "DELETE", rootPath, nil)
		wantError(t, ann, 409, "last_superuser", "PATCH", rootPath, map[string]any{"is_active": false})

		// With a second active superuser one of them may go; an inactive
		// superuser does not count.
		second, _ := l.user(t, "second", RoleAdmin, true)
		ann.want(200, "PATCH", "/api/v1/users/"+second.subject(), map[string]any{"is_active": false})
		wantError(t, ann, 409, "last_superuser", "DELETE", rootPath, nil)
		ann.want(200, "PATCH", "/api/v1/users/"+second.subject(), map[string]any{"is_active": true})
		ann.want(204, "DELETE", rootPath, nil)
		wantError(t, ann, 409, "last_superuser", "DELETE", "/api/v1/users/"+second.subject(), nil)
		if n := l.activeSuperusers(t); n != 1 {
			t.Errorf("%d active superusers; want 1", n)
		}
		// Plain users are deleted as before.
		bob, _ := l.user(t, "bob", RoleUser, false)
		ann.want(204, "DELETE", "/api/v1/users/"+bob.subject(), nil)
		ann.want(404, "DELETE", "/api/v1/users/"+bob.subject(), nil)
	})
}

// TestSuperusersRemovingEachOther is the burst: every superuser deletes or
// deactivates every other at once, released together, several rounds. Each
// round must end with exactly one active superuser: whoever survives never
// lost its token, so every request it made against another live superuser
// succeeded, and the last one is never removed.
func TestSuperusersRemovingEachOther(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, l *liveApp) {
		const rounds, size = 5, 4
		for round := range rounds {
			users := make([]User, size)
			clients := make([]*client, size)
			for i := range size {
				users[i], clients[i] = l.user(t, fmt.Sprintf("su%dx%d", round, i), RoleAdmin, true)
			}
			// Retire the superusers of earlier rounds (root first), so
			// this round's are the only ones.
			old, err := l.users.List(t.Context(), crud.Query{Filters: activeSuperuserFilters, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range old.Items {
				if !strings.HasPrefix(u.Username, fmt.Sprintf("su%dx", round)) {
					clients[0].want(204, "DELETE", "/api/v1/users/"+u.subject(), nil)
				}
			}
			if n := l.activeSuperusers(t); n != size {
				t.Fatalf("round %d starts with %d active superusers; want %d", round, n, size)
			}

			results := make(chan int, size*(size-1))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range size {
				for j := range size {
					if i == j {
						continue
					}
					method, body := "DELETE", ""
					if (i+j+round)%3 == 0 {
						method, body = "PATCH", `{"is_active":false}`
					}
					wg.Go(func() {
						<-start
						results <- clients[i].status(method, "/api/v1/users/"+users[j].subject(), body)
					})
				}
			}
			close(start)
			wg.Wait()
			close(results)
			counts := map[int]int{}
			for s := range results {
				counts[s]++
			}
			for s := range counts {
				switch s {
				case 200, 204, 401, 404, 409:
				default:
					t.Errorf("round %d: statuses %v; want only 200, 204, 401, 404 or 409", round, counts)
				}
			}
			if n := l.activeSuperusers(t); n != 1 {
				t.Fatalf("round %d: %d active superusers left (statuses %v); want exactly 1", round, n, counts)
			}
		}
	})
}

// status sends a request from any goroutine and returns its status, or 0
// when it could not be sent.
func (c *client) status(method, path, body string) int {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
