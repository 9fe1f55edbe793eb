package main

// The documents drive the app: every request below is built from
// /api/v1/openapi.json and /api/v2/openapi.json alone (openapitest.Requests:
// the documents' own examples, a minimal and a full request per operation,
// one per optional parameter, and variants the document forbids), and each
// answer must be documented for its operation, match the documented schema
// (the error envelope for every error), be refused when the document
// forbids the request and not be refused as bad input when it allows it.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/openapi/openapitest"
)

// opaque are parameters whose values only the server makes (a cursor is
// signed): a document cannot describe which strings are valid.
var opaque = []string{"query cursor"}

func TestDocumentsDriveTheApp(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t, map[string]string{"RATE_LIMIT_REQUESTS": "100000", "AUTH_RATE_LIMIT_REQUESTS": "100000"})
	alice, _ := f.user(t, "alice", false)
	post := Post{AuthorID: alice.ID, Title: "Hello", Published: true}
	if err := f.posts.Create(t.Context(), &post); err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"v1", "v2"} {
		doc := openapitest.Fetch(t, f.base+"/api/"+version+"/openapi.json")
		chk := openapitest.New(t, doc)
		reqs := openapitest.Requests(t, doc)
		// Deletions last, so that the other operations find what they need.
		slices.SortStableFunc(reqs, func(a, b openapitest.Request) int {
			return boolInt(a.Method == http.MethodDelete) - boolInt(b.Method == http.MethodDelete)
		})
		ops := map[string]bool{}
		for i, r := range reqs {
			ops[r.Operation] = true
			if slices.Contains(opaque, r.Name) {
				continue
			}
			// Each request as a fresh admin: one that logs out, changes its
			// password or deletes a user leaves the others' tokens alone.
			_, root := f.user(t, fmt.Sprintf("root%s%d", version, i), true)
			r.Header.Set("Authorization", "Bearer "+root)
			t.Run(version+" "+r.Operation+" "+r.Name, func(t *testing.T) {
				replay(t, chk, f.base, r)
			})
		}
		if len(ops) != len(chk.Operations()) {
			t.Errorf("%s: requests for %d operations; the document has %d", version, len(ops), len(chk.Operations()))
		}
	}
}

// replay sends r and checks the answer against the document.
func replay(t *testing.T, chk *openapitest.Checker, base string, r openapitest.Request) {
	t.Helper()
	req, err := r.NewRequest(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	docErrs := chk.RequestErrors(req)
	if r.Valid && len(docErrs) > 0 {
		t.Fatalf("generated a request the document forbids: %v", docErrs)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	if errs := chk.ResponseErrors(req, res); len(errs) > 0 {
		t.Errorf("%s %s -> %d %s breaks the document:\n\t%s", r.Method, r.Path, res.StatusCode, body, strings.Join(errs, "\n\t"))
	}
	if res.StatusCode >= 400 {
		var env struct {
			Error struct {
				Code int    `json:"code"`
				Type string `json:"type"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &env) != nil || env.Error.Code != res.StatusCode || env.Error.Type == "" {
			t.Errorf("%s %s -> %d %s; want the error envelope", r.Method, r.Path, res.StatusCode, body)
		}
	}
	switch {
	case r.Valid && slices.Contains([]int{400, 413, 415, 422}, res.StatusCode):
		t.Errorf("%s %s body %s -> %d %s; the document allows the request", r.Method, r.Path, r.Body, res.StatusCode, body)
	case !r.Valid && res.StatusCode < 400:
		t.Errorf("%s %s body %s (no Content-Type: %v) -> %d; the document forbids the request (%v)", r.Method, r.Path, r.Body, r.NoType, res.StatusCode, docErrs)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBadTokensAreDocumented: a bearer token is read wherever one is sent,
// so a bad one (garbage, alg=none) answers 401 on public operations as on
// protected ones, and every document says so; every operation documents
// 431 too.
func TestBadTokensAreDocumented(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t)
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2NvcGVzIjpbInBvc3RzOndyaXRlIl19." // {"alg":"none"}
	checkers := map[string]*openapitest.Checker{}
	for _, v := range []string{"v1", "v2"} {
		doc := openapitest.Fetch(t, f.base+"/api/"+v+"/openapi.json")
		checkers[v] = openapitest.New(t, doc)
		var d struct {
			Paths map[string]map[string]struct {
				Security  []map[string][]string `json:"security"`
				Responses map[string]any        `json:"responses"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		for path, item := range d.Paths {
			for method, op := range item {
				if op.Responses["401"] == nil || op.Responses["431"] == nil || len(op.Security) == 0 {
					t.Errorf("%s %s: responses %v, security %v; want 401 and 431 documented, and the bearer token", method, path, op.Responses, op.Security)
				}
			}
		}
	}
	for _, tt := range []struct {
		version, method, path, body string
		public                      bool
	}{
		{"v1", "GET", "/api/v1/posts", "", true},
		{"v2", "GET", "/api/v2/posts", "", true},
		{"v1", "GET", "/api/v1/posts/1", "", true},
		{"v1", "POST", "/api/v1/auth/register", `{"username":"bob","email":"bob@example.com","password":"bob-password"}`, true},
		{"v1", "GET", "/api/v1/users/me", "", false},
		{"v1", "POST", "/api/v1/posts", `{"title":"T","content":"","published":true}`, false},
	} {
		for _, token := range []string{"garbage", none} {
			r := openapitest.Request{Method: tt.method, Path: tt.path, Body: tt.body, Header: http.Header{"Authorization": {"Bearer " + token}}, Valid: false}
			req, err := r.NewRequest(t.Context(), f.base)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			res.Body = io.NopCloser(strings.NewReader(string(body)))
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with a bad token (public %v) = %d %s; want 401", tt.method, tt.path, tt.public, res.StatusCode, body)
			}
			if errs := checkers[tt.version].ResponseErrors(req, res); len(errs) > 0 {
				t.Errorf("%s %s -> %d: breaks the document: %v", tt.method, tt.path, res.StatusCode, errs)
			}
		}
	}
}
