package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/middleware"
)

// TestPostsIdempotencyKey: a client that retries POST /posts with the
// same Idempotency-Key creates one post, and every retry gets the first
// answer byte for byte, marked as a replay; the same key on another body
// is a 422 and creates nothing; the key is scoped per user.
func TestPostsIdempotencyKey(t *testing.T) {
	f := newFakeApp(t)
	_, alice := f.user(t, "alice", false)
	_, bob := f.user(t, "bob", false)
	send := func(token, body string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.base+"/api/v1/posts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(middleware.IdempotencyKeyHeader, "post-2f9c")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	count := func() int64 {
		t.Helper()
		n, err := f.posts.Count(t.Context(), crud.Query{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	const body = `{"title":"Hello","content":"once","published":true}`
	res, first := send(alice, body)
	if res.StatusCode != http.StatusCreated || res.Header.Get(middleware.IdempotentReplayedHeader) != "" {
		t.Fatalf("first POST = %d %s; want 201, not a replay", res.StatusCode, first)
	}
	for i := range 3 {
		res, b := send(alice, body)
		if res.StatusCode != http.StatusCreated || !bytes.Equal(b, first) || res.Header.Get(middleware.IdempotentReplayedHeader) != "true" {
			t.Fatalf("retry %d = %d %s replayed=%q; want 201 %s, replayed", i, res.StatusCode, b, res.Header.Get(middleware.IdempotentReplayedHeader), first)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("posts after a POST and 3 retries = %d; want 1", n)
	}
	if res, b := send(alice, `{"title":"Other"}`); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"idempotency_key_reused"`) {
		t.Fatalf("same key, other body = %d %s; want 422 idempotency_key_reused", res.StatusCode, b)
	}
	if res, _ := send(bob, body); res.StatusCode != http.StatusCreated || res.Header.Get(middleware.IdempotentReplayedHeader) != "" {
		t.Fatalf("bob with alice's key = %d replayed=%q; want his own 201", res.StatusCode, res.Header.Get(middleware.IdempotentReplayedHeader))
	}
	if n := count(); n != 2 {
		t.Fatalf("posts = %d; want 2 (alice's and bob's)", n)
	}
}

// TestIdempotencyKeyDocumented: the creating routes document the header
// and its 409 and 422; reading routes do not.
func TestIdempotencyKeyDocumented(t *testing.T) {
	f := newFakeApp(t)
	res, err := http.Get(f.base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
			Responses  map[string]any
		}
	}
	if err := jsonDecode(res.Body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path string
		want         bool
	}{
		{"post", "/api/v1/posts", true},
		{"post", "/api/v1/files", true},
		{"post", "/api/v1/tasks/send-email", true},
		{"post", "/api/v1/tasks/send-bulk-email", true},
		{"post", "/api/v1/tasks/process-image", true},
		{"post", "/api/v1/tasks/reports/users", true},
		{"get", "/api/v1/posts", false},
		{"post", "/api/v1/auth/login", false},
	} {
		op, ok := doc.Paths[tt.path][tt.method]
		if !ok {
			t.Fatalf("%s %s not in the document", tt.method, tt.path)
		}
		got := false
		for _, p := range op.Parameters {
			got = got || (p.Name == middleware.IdempotencyKeyHeader && p.In == "header")
		}
		_, has409 := op.Responses["409"]
		_, has422 := op.Responses["422"]
		if got != tt.want || (tt.want && !(has409 && has422)) {
			t.Errorf("%s %s: Idempotency-Key documented %v (409 %v, 422 %v); want %v with 409 and 422", tt.method, tt.path, got, has409, has422, tt.want)
		}
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
