package jobs

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestRedactFields hides named members at any depth and keeps numbers exact.
func TestRedactFields(t *testing.T) {
	r := RedactFields("password", "card")
	tests := []struct{ in, want string }{
		{`{"user":"a","password":"x"}`, `{"password":"[redacted]","user":"a"}`},
		{`{"items":[{"card":"4242","n":12345678901234567890}]}`, `{"items":[{"card":"[redacted]","n":12345678901234567890}]}`},
		{`{"nested":{"password":{"deep":1}}}`, `{"nested":{"password":"[redacted]"}}`},
		{`[1,2]`, `[1,2]`},
		{`not json`, `"[redacted]"`},
		{`{"a":1} {"password":2}`, `"[redacted]"`},
	}
	for _, tt := range tests {
		in := json.RawMessage(tt.in)
		orig := string(in)
		if got := string(r("k", in)); got != tt.want {
			t.Errorf("redact %s = %s; want %s", tt.in, got, tt.want)
		}
		if string(in) != orig {
			t.Errorf("redact changed its input %s", tt.in)
		}
	}
	if got := r("k", nil); got != nil {
		t.Errorf("redact(nil) = %s", got)
	}
}

// FuzzRedactFields: whatever the payload, the hook returns one JSON value,
// never shows a hidden member's value, and leaves its input as it was.
func FuzzRedactFields(f *testing.F) {
	for _, s := range []string{`{"password":"hunter2"}`, `{"a":[{"password":{"x":1}}]}`, `[1,"password"]`, `{"password":"a","password":"b"}`, `nope`, `{"n":1e400}`, `"\ud800"`} {
		f.Add(s)
	}
	r := RedactFields("password")
	f.Fuzz(func(t *testing.T, in string) {
		payload := json.RawMessage(in)
		out := r("k", payload)
		if string(payload) != in {
			t.Fatalf("input changed: %q → %q", in, payload)
		}
		if len(in) == 0 {
			return
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("redact %q = %q: not JSON: %v", in, out, err)
		}
		var walk func(any)
		walk = func(v any) {
			switch t2 := v.(type) {
			case map[string]any:
				for k, x := range t2 {
					if k == "password" && x != "[redacted]" {
						t.Fatalf("redact %q = %q: password shown", in, out)
					}
					walk(x)
				}
			case []any:
				for _, x := range t2 {
					walk(x)
				}
			}
		}
		walk(v)
	})
}
