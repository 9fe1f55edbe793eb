package middleware_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// validIdempotencyKey is the fuzz oracle, written apart from the parser:
// the key inside optional quotes (no quote or backslash inside them) is
// 1–64 bytes of space..tilde, not starting or ending with a space.
func validIdempotencyKey(v string) (string, bool) {
	if len(v) >= 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
		v = v[1 : len(v)-1]
		if strings.ContainsAny(v, `"\`) {
			return "", false
		}
	}
	if len(v) == 0 || len(v) > 64 || strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ") {
		return "", false
	}
	for _, r := range []byte(v) {
		if r < ' ' || r > '~' {
			return "", false
		}
	}
	return v, true
}

// FuzzIdempotencyKey sends arbitrary Idempotency-Key values, paths and
// bodies through the middleware: an invalid key is a 400 envelope and
// runs nothing; a valid one runs once, its repeat is replayed byte for
// byte, and the same key with another body (another fingerprint) is a 422.
// ParseIdempotencyKey agrees with the oracle, and the quoted and bare
// forms of a key are one key.
func FuzzIdempotencyKey(f *testing.F) {
	f.Add("8e03978e-40d5-43e8-bc93-6894a57f9324", "/orders", []byte(`{"item":"book"}`))
	f.Add(`"quoted"`, "/orders?x=1", []byte{})
	f.Add("", "/orders", []byte("x"))
	f.Add(`"a\"b"`, "/orders", []byte("x"))
	f.Add("key\x00nul", "/orders", []byte{0, 1, 2})
	f.Add(strings.Repeat("k", 65), "/orders", []byte("long"))
	f.Add(" lead", "/orders/%2F..", []byte("x"))
	f.Fuzz(func(t *testing.T, key, path string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			path = "/orders"
		}
		want, valid := validIdempotencyKey(key)
		got, err := middleware.ParseIdempotencyKey(key, 64)
		if valid != (err == nil) || (valid && got != want) {
			t.Fatalf("ParseIdempotencyKey(%q) = %q, %v; oracle %q, %v", key, got, err, want, valid)
		}
		if err != nil && !errors.Is(err, middleware.ErrInvalidIdempotencyKey) {
			t.Fatalf("ParseIdempotencyKey(%q) error %v does not wrap ErrInvalidIdempotencyKey", key, err)
		}

		var runs atomic.Int64
		e := newEcho()
		mw, err := middleware.IdempotencyConfig{Store: memIdem(), MaxKeyLength: 64, Logger: discardLogger()}.ToMiddleware()
		if err != nil {
			t.Fatal(err)
		}
		e.Any("/*", func(c echo.Context) error {
			n := runs.Add(1)
			b := new(bytes.Buffer)
			_, _ = b.ReadFrom(c.Request().Body)
			if !bytes.Equal(b.Bytes(), body) {
				t.Fatalf("handler read %q; want the body %q", b.Bytes(), body)
			}
			return c.Blob(http.StatusOK, "application/octet-stream", append(b.Bytes(), byte(n)))
		}, mw)
		send := func(k string, b []byte) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
			req.URL.Path, req.URL.RawPath, req.RequestURI = path, "", path
			req.Header[middleware.IdempotencyKeyHeader] = []string{k}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec
		}
		first := send(key, body)
		if !valid {
			env := decodeEnvelope(t, first.Body.Bytes())
			if first.Code != http.StatusBadRequest || env.Error.Type != "invalid_idempotency_key" || runs.Load() != 0 {
				t.Fatalf("key %q: %d %s, %d runs; want 400 invalid_idempotency_key, none", key, first.Code, first.Body, runs.Load())
			}
			return
		}
		if first.Code != http.StatusOK || runs.Load() != 1 {
			t.Fatalf("key %q: %d %s; want 200, one run", key, first.Code, first.Body)
		}
		forms := []string{key, want}
		if !strings.ContainsAny(want, `"\`) {
			forms = append(forms, `"`+want+`"`) // a key with a quote has no quoted form
		}
		for _, k := range forms {
			again := send(k, body)
			if again.Code != http.StatusOK || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) || again.Header().Get(middleware.IdempotentReplayedHeader) != "true" {
				t.Fatalf("repeat with %q: %d %q; want the replay of %q", k, again.Code, again.Body, first.Body)
			}
		}
		other := send(key, append(bytes.Clone(body), 'x'))
		if env := decodeEnvelope(t, other.Body.Bytes()); other.Code != http.StatusUnprocessableEntity || env.Error.Type != "idempotency_key_reused" {
			t.Fatalf("key %q with another body: %d %s; want 422 idempotency_key_reused", key, other.Code, other.Body)
		}
		if runs.Load() != 1 {
			t.Fatalf("key %q: handler ran %d times; want 1", key, runs.Load())
		}
	})
}
