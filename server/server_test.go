package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

type envelope struct {
	Error struct {
		Code      int               `json:"code"`
		Type      string            `json:"type"`
		Message   string            `json:"message"`
		Details   []json.RawMessage `json:"details"`
		RequestID string            `json:"request_id"`
		Path      string            `json:"path"`
		Timestamp string            `json:"timestamp"`
	} `json:"error"`
}

type createUser struct {
	Username string   `json:"username" validate:"required,min=3,max=20"`
	Email    string   `json:"email" validate:"required,email"`
	Age      int      `json:"age" validate:"gte=0,lte=150"`
	Tags     []string `json:"tags" validate:"max=3"`
}

type strictUser struct {
	Name string `json:"name" validate:"required"`
}

func (strictUser) StrictJSON() {}

var errSecret = errors.New("pq: password authentication failed for user admin at 10.0.0.7")

func newTestServer(t *testing.T, cfg server.Config) (*server.Server, *testenv.Buffer) {
	t.Helper()
	logs := &testenv.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	g := s.Group("/api/v1")
	g.POST("/users", func(c echo.Context) error {
		var in createUser
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, in)
	})
	g.POST("/strict", func(c echo.Context) error {
		var in strictUser
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, in)
	})
	g.GET("/panic", func(c echo.Context) error { panic("boom: secret detail") })
	g.GET("/fail", func(c echo.Context) error { return errSecret })
	g.GET("/conflict", func(c echo.Context) error {
		return server.NewError(http.StatusConflict, "username taken")
	})
	g.GET("/forbidden", func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden, "no access") })
	g.GET("/ok", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"hello": "world"}) })
	return s, logs
}

func do(t *testing.T, method, url, ctype string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// chunked hides the length of r so the body is sent chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestErrorEnvelope(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, server.Config{MaxBodySize: 1024})
	base := servertest.Start(t, s)
	big := `{"username":"` + strings.Repeat("a", 2000) + `"}`
	tests := []struct {
		name, method, path, ctype, body string
		bodyReader                      io.Reader
		wantStatus                      int
		wantType                        string
		wantMsg                         string // substring
		wantDetails                     int
	}{
		{name: "unknown route", method: "GET", path: "/nope", wantStatus: 404, wantType: "not_found"},
		{name: "wrong method", method: "DELETE", path: "/api/v1/users", wantStatus: 405, wantType: "method_not_allowed"},
		{name: "malformed json", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username":`, wantStatus: 400, wantType: "invalid_json", wantMsg: "malformed JSON"},
		{name: "syntax error", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username" "x"}`, wantStatus: 400, wantType: "invalid_json", wantMsg: "malformed JSON at byte"},
		{name: "wrong type", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username":"bob","email":"b@x.io","age":"old"}`, wantStatus: 400, wantType: "invalid_json", wantMsg: `field "age" must be an integer, not string`},
		{name: "not an object", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `[1,2]`, wantStatus: 400, wantType: "invalid_json", wantMsg: "must be an object"},
		{name: "trailing garbage", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username":"bob","email":"b@x.io"} xyz`, wantStatus: 400, wantType: "invalid_json", wantMsg: "single JSON value"},
		{name: "two values", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username":"bob","email":"b@x.io"}{}`, wantStatus: 400, wantType: "invalid_json"},
		{name: "empty body", method: "POST", path: "/api/v1/users", ctype: "application/json", body: ``, wantStatus: 400, wantType: "bad_request", wantMsg: "body is required"},
		{name: "wrong content type", method: "POST", path: "/api/v1/users", ctype: "text/plain", body: `{}`, wantStatus: 415, wantType: "unsupported_media_type"},
		{name: "validation", method: "POST", path: "/api/v1/users", ctype: "application/json", body: `{"username":"x","email":"nope","age":200,"tags":["a","b","c","d"]}`, wantStatus: 422, wantType: "validation_error", wantDetails: 4},
		{name: "unknown field on strict type", method: "POST", path: "/api/v1/strict", ctype: "application/json", body: `{"name":"a","is_admin":true}`, wantStatus: 400, wantType: "invalid_json", wantMsg: `unknown field "is_admin"`},
		{name: "body over limit with length", method: "POST", path: "/api/v1/users", ctype: "application/json", body: big, wantStatus: 413, wantType: "payload_too_large"},
		{name: "body over limit chunked", method: "POST", path: "/api/v1/users", ctype: "application/json", bodyReader: chunked{strings.NewReader(big)}, wantStatus: 413, wantType: "payload_too_large"},
		{name: "panic", method: "GET", path: "/api/v1/panic", wantStatus: 500, wantType: "internal_error", wantMsg: "internal server error"},
		{name: "plain error hides text", method: "GET", path: "/api/v1/fail", wantStatus: 500, wantType: "internal_error", wantMsg: "internal server error"},
		{name: "typed error", method: "GET", path: "/api/v1/conflict", wantStatus: 409, wantType: "conflict", wantMsg: "username taken"},
		{name: "echo http error", method: "GET", path: "/api/v1/forbidden", wantStatus: 403, wantType: "forbidden", wantMsg: "no access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.bodyReader
			if body == nil {
				body = strings.NewReader(tt.body)
			}
			res, raw := do(t, tt.method, base+tt.path, tt.ctype, body, nil)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.path, res.StatusCode, raw, tt.wantStatus)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			var env envelope
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatalf("body %s is not an envelope: %v", raw, err)
			}
			e := env.Error
			if e.Code != tt.wantStatus || e.Type != tt.wantType {
				t.Errorf("envelope code/type = %d/%q; want %d/%q (%s)", e.Code, e.Type, tt.wantStatus, tt.wantType, raw)
			}
			if !strings.Contains(e.Message, tt.wantMsg) || e.Message == "" {
				t.Errorf("message = %q; want it to contain %q", e.Message, tt.wantMsg)
			}
			if len(e.Details) != tt.wantDetails {
				t.Errorf("details = %d entries (%s); want %d", len(e.Details), raw, tt.wantDetails)
			}
			if e.RequestID == "" || e.RequestID != res.Header.Get("X-Request-ID") {
				t.Errorf("request_id = %q, header %q; want equal and non-empty", e.RequestID, res.Header.Get("X-Request-ID"))
			}
			if e.Path != tt.path {
				t.Errorf("path = %q; want %q", e.Path, tt.path)
			}
			if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
				t.Errorf("timestamp %q: %v", e.Timestamp, err)
			}
			for _, leak := range []string{"main.", "server_test", "int", "[]string", "pq:", "10.0.0.7", "secret detail", "goroutine"} {
				if tt.wantStatus != 422 && strings.Contains(e.Message, leak) && !strings.Contains(tt.wantMsg, leak) {
					t.Errorf("message %q leaks %q", e.Message, leak)
				}
			}
		})
	}
	// The server keeps serving after the panic, and logged it with the request id.
	res, _ := do(t, "GET", base+"/api/v1/ok", "", nil, map[string]string{"X-Request-ID": "trace-1"})
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/v1/ok after panic = %d; want 200", res.StatusCode)
	}
	res, _ = do(t, "GET", base+"/api/v1/panic", "", nil, map[string]string{"X-Request-ID": "panic-req-42"})
	if res.StatusCode != 500 {
		t.Fatalf("panic status = %d", res.StatusCode)
	}
	out := logs.String()
	if !strings.Contains(out, `"request_id":"panic-req-42"`) || !strings.Contains(out, "panic recovered") || !strings.Contains(out, "goroutine") {
		t.Errorf("panic log lacks request id or stack: %s", out)
	}
	if !strings.Contains(out, "10.0.0.7") {
		t.Errorf("500 cause not logged: %s", out)
	}
}

func TestValidationDetails(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	base := servertest.Start(t, s)
	res, raw := do(t, "POST", base+"/api/v1/users", "application/json", strings.NewReader(`{"username":"x","email":"nope"}`), nil)
	if res.StatusCode != 422 {
		t.Fatalf("status = %d; want 422", res.StatusCode)
	}
	var env struct {
		Error struct {
			Details []server.FieldError `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	want := []server.FieldError{
		{Field: "username", Rule: "min", Message: "must be at least 3 characters long"},
		{Field: "email", Rule: "email", Message: "must be a valid email address"},
	}
	if len(env.Error.Details) != len(want) {
		t.Fatalf("details = %+v; want %+v", env.Error.Details, want)
	}
	for i := range want {
		if env.Error.Details[i] != want[i] {
			t.Errorf("details[%d] = %+v; want %+v", i, env.Error.Details[i], want[i])
		}
	}
}

func TestBindIgnoresQuery(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	base := servertest.Start(t, s)
	res, raw := do(t, "POST", base+"/api/v1/users?username=admin&age=5", "application/json",
		strings.NewReader(`{"username":"bobby","email":"b@x.io"}`), nil)
	if res.StatusCode != 201 {
		t.Fatalf("status = %d %s", res.StatusCode, raw)
	}
	var got createUser
	_ = json.Unmarshal(raw, &got)
	if got.Username != "bobby" || got.Age != 0 {
		t.Errorf("bound %+v; query parameters leaked into the body", got)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	base := servertest.Start(t, s)
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"valid kept", "abc-123_x.y:z", true},
		{"absent generated", "", false},
		{"spaces replaced", "a b", false},
		{"too long replaced", strings.Repeat("a", 129), false},
		{"injection replaced", "x\"}{", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.in != "" {
				hdr["X-Request-ID"] = tt.in
			}
			res, _ := do(t, "GET", base+"/api/v1/ok", "", nil, hdr)
			got := res.Header.Get("X-Request-ID")
			if tt.keep && got != tt.in {
				t.Errorf("X-Request-ID = %q; want %q kept", got, tt.in)
			}
			if !tt.keep && (got == "" || got == tt.in) {
				t.Errorf("X-Request-ID = %q; want a fresh id", got)
			}
		})
	}
}

func TestGzipRequestIsNotDecodedWithoutDecompress(t *testing.T) {
	// Compressed bodies are the middleware stack's business; without it the
	// bytes are not JSON and must get a 4xx, never a 500.
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	base := servertest.Start(t, s)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"username":"bobby","email":"b@x.io"}`))
	_ = zw.Close()
	res, raw := do(t, "POST", base+"/api/v1/users", "application/json", &buf, map[string]string{"Content-Encoding": "gzip"})
	if res.StatusCode >= 500 || res.StatusCode < 200 {
		t.Errorf("gzip body status = %d %s; want 2xx or 4xx", res.StatusCode, raw)
	}
}

func TestConfigInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  server.Config
	}{
		{"bad addr", server.Config{Addr: "nohostport"}},
		{"negative header bytes", server.Config{MaxHeaderBytes: -1}},
		{"negative shutdown", server.Config{ShutdownTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := server.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = nil error; want invalid config", tt.cfg)
			}
		})
	}
}

func TestLifespanOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	rec := func(ev string) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}
	hook := func(name string, startErr, stopErr error) server.Hook {
		return server.Hook{
			Name:  name,
			Start: func(context.Context) error { rec("start " + name); return startErr },
			Stop:  func(context.Context) error { rec("stop " + name); return stopErr },
		}
	}
	t.Run("start failure stops earlier hooks in reverse", func(t *testing.T) {
		events = nil
		s, _ := newTestServer(t, server.Config{})
		s.AddHook(hook("db", nil, nil))
		s.AddHook(hook("cache", nil, nil))
		s.AddHook(hook("jobs", errors.New("redis down"), nil))
		s.AddHook(hook("never", nil, nil))
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		err := s.Serve(t.Context(), ln)
		if err == nil || !strings.Contains(err.Error(), `"jobs"`) || !strings.Contains(err.Error(), "redis down") {
			t.Fatalf("Serve = %v; want the jobs hook's error", err)
		}
		want := []string{"start db", "start cache", "start jobs", "stop cache", "stop db"}
		if strings.Join(events, ",") != strings.Join(want, ",") {
			t.Errorf("events = %v; want %v", events, want)
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("listener %s still open after a failed start", addr)
		}
	})
	t.Run("stop hooks all run in reverse and errors join", func(t *testing.T) {
		events = nil
		s, _ := newTestServer(t, server.Config{StopHookTimeout: 200 * time.Millisecond})
		s.AddHook(hook("a", nil, errors.New("a failed")))
		s.AddHook(hook("b", nil, nil))
		s.AddHook(server.Hook{Name: "slow", Stop: func(ctx context.Context) error {
			rec("stop slow")
			time.Sleep(5 * time.Second) // ignores ctx: must not hold the shutdown
			return nil
		}})
		s.AddHook(hook("c", nil, errors.New("c failed")))
		ctx, cancel := context.WithCancel(t.Context())
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, ln) }()
		<-s.Ready()
		cancel()
		begin := time.Now()
		var err error
		select {
		case err = <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("Serve did not return: a slow stop hook held the shutdown")
		}
		if took := time.Since(begin); took > 2*time.Second {
			t.Errorf("shutdown took %s", took)
		}
		for _, want := range []string{"a failed", "c failed", `"slow"`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Serve = %v; want it to mention %s", err, want)
			}
		}
		want := []string{"start a", "start b", "start c", "stop c", "stop slow", "stop b", "stop a"}
		mu.Lock()
		got := strings.Join(events, ",")
		mu.Unlock()
		if got != strings.Join(want, ",") {
			t.Errorf("events = %v; want %v", got, want)
		}
	})
}

func TestGracefulDrain(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{ShutdownTimeout: 5 * time.Second, PreDrainDelay: 300 * time.Millisecond})
	var started sync.WaitGroup
	started.Add(50)
	s.Echo().GET("/slow", func(c echo.Context) error {
		started.Done()
		d := time.Second + time.Duration(c.QueryParam("i")[0]-'0')*100*time.Millisecond
		time.Sleep(d)
		return c.JSON(http.StatusOK, map[string]string{"done": "yes"})
	})
	stopped := make(chan struct{})
	s.AddHook(server.Hook{Name: "flag", Stop: func(context.Context) error { close(stopped); return nil }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	<-s.Ready()

	// Readiness is probed on its own connection that stays open (keep-alive).
	probe := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	if res, err := probe.Get(base + "/health/ready"); err != nil || res.StatusCode != 200 {
		t.Fatalf("ready before drain: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Get(base + "/slow?i=" + string(rune('0'+i%10)))
			if err != nil {
				t.Errorf("in-flight request %d: %v", i, err)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode == 200 && strings.Contains(string(b), "yes") {
				ok.Add(1)
			} else {
				t.Errorf("in-flight request %d = %d %s", i, res.StatusCode, b)
			}
		}()
	}
	started.Wait() // all 50 are inside the handler
	begin := time.Now()
	cancel()

	// During the pre-drain delay the listener still answers, with readiness 503.
	time.Sleep(100 * time.Millisecond)
	if res, err := probe.Get(base + "/health/ready"); err != nil {
		t.Errorf("ready during pre-drain delay: %v", err)
	} else {
		res.Body.Close()
		if res.StatusCode != 503 {
			t.Errorf("ready during drain = %d; want 503", res.StatusCode)
		}
		if live, err := probe.Get(base + "/health"); err != nil || live.StatusCode != 200 {
			t.Errorf("liveness during drain = %v, %v; want 200", live, err)
		} else {
			live.Body.Close()
		}
	}
	// After the delay the listener is closed: new connections are refused.
	time.Sleep(400 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("new connection accepted after the listener closed")
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v; want nil after a clean drain", err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("Serve did not return within the shutdown timeout")
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("drain took %s; want within the 5s timeout", took)
	}
	if got := ok.Load(); got != 50 {
		t.Errorf("%d of 50 in-flight requests completed with 200", got)
	}
	select {
	case <-stopped:
	default:
		t.Error("stop hook did not run")
	}
}

func TestDrainTimeoutCutsStragglers(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{ShutdownTimeout: 300 * time.Millisecond})
	entered := make(chan struct{})
	s.Echo().GET("/hang", func(c echo.Context) error {
		close(entered)
		time.Sleep(5 * time.Second)
		return c.NoContent(200)
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	<-s.Ready()
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/hang")
		if err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v; want a drain deadline error", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve overran its shutdown timeout")
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	servertest.Start(t, s)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := s.Serve(t.Context(), ln); err == nil {
		t.Error("second Serve = nil; want an error")
	}
}

func TestHeadErrorHasNoBody(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, server.Config{})
	base := servertest.Start(t, s)
	res, body := do(t, "HEAD", base+"/nope", "", nil, nil)
	if res.StatusCode != 404 || len(body) != 0 {
		t.Errorf("HEAD /nope = %d with %d bytes; want 404 and no body", res.StatusCode, len(body))
	}
}

func TestServerConfigFromSettings(t *testing.T) {
	t.Parallel()
	s := config.Settings{
		HTTPAddr:        "127.0.0.1:9999",
		Environment:     config.EnvProduction,
		ReadTimeout:     0, // none
		WriteTimeout:    7 * time.Second,
		ShutdownTimeout: 3 * time.Second,
		MaxBodySize:     2048,
	}
	cfg := s.ServerConfig()
	if cfg.Addr != s.HTTPAddr || !cfg.Production || cfg.ReadTimeout >= 0 || cfg.WriteTimeout != 7*time.Second ||
		cfg.ShutdownTimeout != 3*time.Second || cfg.MaxBodySize != 2048 {
		t.Errorf("ServerConfig of %+v = %+v", s, cfg)
	}
}
