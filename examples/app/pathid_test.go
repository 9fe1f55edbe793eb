package main

import (
	"net/http"
	"testing"
)

// TestPathIDsAreCanonical: an id in a path is canonical decimal digits.
// Any other spelling of user or post 1 ("+1", " 1", "01", ...) names no
// resource: the answer is a 4xx envelope, never the resource itself. The
// first three cases depend on openapi reading integer path parameters
// strictly (openapi/params.go); the others are refused already.
func TestPathIDsAreCanonical(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t)
	admin, token := f.user(t, "root", true) // user 1
	post := Post{AuthorID: admin.ID, Title: "Hello", Published: true}
	if err := f.posts.Create(t.Context(), &post); err != nil {
		t.Fatal(err)
	}
	if admin.ID != 1 || post.ID != 1 {
		t.Fatalf("user %d, post %d; want both 1", admin.ID, post.ID)
	}
	routes := []struct{ method, prefix, body string }{
		{"PATCH", "/api/v1/users/", "{}"}, // the admin route that answers with the user
		{"GET", "/api/v1/posts/", ""},
	}
	for _, r := range routes {
		if status, out := f.call(t, token, r.method, r.prefix+"1", r.body); status != http.StatusOK {
			t.Fatalf("%s %s1 = %d %v; want 200", r.method, r.prefix, status, out)
		}
	}
	ids := []struct{ name, id string }{
		{"plus sign", "+1"},       // needs openapi's canonical integers
		{"leading space", "%201"}, // needs openapi's canonical integers
		{"leading zero", "01"},    // needs openapi's canonical integers
		{"decimal", "1.0"},
		{"negative", "-1"},
		{"zero", "0"},
		{"overflow", "99999999999999999999"},
	}
	for _, r := range routes {
		for _, tt := range ids {
			t.Run(r.method+" "+r.prefix+" "+tt.name, func(t *testing.T) {
				path := r.prefix + tt.id
				status, out := f.call(t, token, r.method, path, r.body)
				e, _ := out["error"].(map[string]any)
				switch {
				case status != http.StatusBadRequest && status != http.StatusNotFound && status != http.StatusUnprocessableEntity:
					t.Errorf("%s %s = %d %v; want 400, 404 or 422", r.method, path, status, out)
				case e == nil || e["code"] != float64(status) || e["type"] == "" || e["message"] == "":
					t.Errorf("%s %s = %d %v; not the error envelope", r.method, path, status, out)
				}
			})
		}
	}
}
