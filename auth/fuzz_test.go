package auth_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/server"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// Fixed keys and clock, so that the committed seed tokens stay valid.
var (
	fuzzEdSeed = []byte("gantry auth fuzz ed25519 seed 32")
	fuzzHMAC   = []byte("gantry auth fuzz hmac secret, 32+ bytes")
)

// fuzzApp is a protected route on gantry's server with an Ed25519 key that
// signs and an HS256 key that verifies.
func fuzzApp(tb testing.TB) (*auth.Tokens, http.Handler) {
	tb.Helper()
	ed, err := auth.NewEd25519Key("ed", ed25519.NewKeyFromSeed(fuzzEdSeed))
	if err != nil {
		tb.Fatal(err)
	}
	hs, err := auth.NewHMACKey("hs", fuzzHMAC)
	if err != nil {
		tb.Fatal(err)
	}
	tokens := authtest.NewTokens(tb, auth.TokensConfig{Keys: []auth.Key{ed, hs}, Now: authtest.NewClock(testStart).Now})
	srv, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	e := srv.Echo()
	e.GET("/me", func(c echo.Context) error {
		p, _ := auth.PrincipalFrom(c)
		return c.String(http.StatusOK, p.Subject)
	}, auth.JWT(tokens))
	return tokens, e
}

// signedByOurKeys checks raw's signature independently of package auth
// and golang-jwt: EdDSA with the Ed25519 key or HS256 with the HMAC secret,
// canonical unpadded base64url only.
func signedByOurKeys(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	b64 := base64.RawURLEncoding.Strict()
	hb, err1 := b64.DecodeString(parts[0])
	sig, err2 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	var h struct{ Alg, Kid string }
	if json.Unmarshal(hb, &h) != nil {
		return false
	}
	signed := []byte(parts[0] + "." + parts[1])
	switch h.Alg {
	case "EdDSA":
		return ed25519.Verify(ed25519.NewKeyFromSeed(fuzzEdSeed).Public().(ed25519.PublicKey), signed, sig)
	case "HS256":
		m := hmac.New(sha256.New, fuzzHMAC)
		m.Write(signed)
		return hmac.Equal(m.Sum(nil), sig)
	}
	return false
}

// FuzzBearer sends any Authorization header to a protected route: the
// answer is 200 or 401, never a panic or a 500, and a 200 only for a token
// signed by one of the app's keys.
func FuzzBearer(f *testing.F) {
	tokens, h := fuzzApp(f)
	valid := authtest.AccessToken(f, tokens, "u1")
	c := authtest.Claims(tokens, "u1")
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, &c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hsTok := jwt.NewWithClaims(jwt.SigningMethodHS256, &c)
	hsTok.Header["kid"] = "hs"
	hs, _ := hsTok.SignedString(fuzzHMAC)
	for _, s := range []string{
		"Bearer " + valid, "bearer " + valid, "BEARER " + valid, "Bearer    " + valid, "Bearer\t" + valid,
		"Bearer " + valid + " trailing", "Bearer " + valid + "=", "Bearer " + hs, "Bearer " + none,
		"Bearer " + strings.TrimRight(none, "."), "", "Bearer", "Bearer ", "Bearer  ", "Basic dTpw",
		"Bearer a.b.c", "Bearer ..", "Bearer " + strings.Repeat("A", 9000), "Bearer " + valid[:len(valid)-2],
	} {
		f.Add(s)
	}
	// the target can tell a good token from a bad one
	for header, want := range map[string]int{"Bearer " + valid: 200, "Bearer " + hs: 200, "Bearer " + none: 401} {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want || want == 200 && !signedByOurKeys(header[len("Bearer "):]) {
			f.Fatalf("%.20s… = %d; want %d", header, rec.Code, want)
		}
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			raw := strings.TrimSpace(header[len("Bearer "):])
			if !signedByOurKeys(raw) {
				t.Fatalf("accepted a token not signed by our keys: %q", header)
			}
		case http.StatusUnauthorized:
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate for %q", header)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, header, rec.Body)
		}
	})
}
