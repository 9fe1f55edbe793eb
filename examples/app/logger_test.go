package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/middleware"
)

// brokenLimits is a rate-limit store whose every call fails, as Redis does
// when it is down or slow.
type brokenLimits struct{}

func (brokenLimits) Allow(context.Context, string, middleware.Limit) (middleware.Result, error) {
	return middleware.Result{}, errors.New("limits store down")
}

// TestLimiterLogsToAppLogger: the rate limiters' warnings go to the app's
// own logger (JSON, with the app's attributes), not to slog.Default().
func TestLimiterLogsToAppLogger(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, nil, func(a *app) { a.limits = brokenLimits{} })
	anon := &client{t: t, base: l.base}
	// A limiter logs an outage once, after a few failures in a row (one
	// slow call is not an outage), so each is asked several times.
	for range 4 {
		anon.do("GET", "/api/v1/posts", nil)                                                                 // per-client limiter: falls back to its local limit
		anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "root", "password": "whatever"}) // per-address: fails closed
	}
	var found []string
	for line := range strings.Lines(l.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("app log line is not JSON: %q", line)
		}
		if msg, _ := rec["msg"].(string); strings.Contains(strings.ToLower(msg), "rate limit") {
			found = append(found, msg)
		}
	}
	if len(found) < 2 {
		t.Errorf("app log holds %d rate limiter records %q; want one from each limiter (api and auth)\n%s", len(found), found, l.logs.String())
	}
}
