package auth

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType tells access tokens from refresh tokens. It is carried in the
// "token_type" claim and checked strictly: an access token never passes as a
// refresh token or the reverse.
type TokenType string

// The token types.
const (
	TypeAccess  TokenType = "access"
	TypeRefresh TokenType = "refresh"
)

// RoleSuperuser is the role that [RequireSuperuser] accepts when no
// [UserLoader] supplies the user.
const RoleSuperuser = "superuser"

// Claims is the payload of a Gantry token. Times keep millisecond
// precision on the wire (RFC 7519 allows fractional NumericDates), so a
// logout-everywhere at time T revokes a token issued a moment before T in the
// same second but not one issued after it.
//
// Claims returned by [Tokens] may be shared between requests: treat them as
// read-only.
type Claims struct {
	Subject   string    // "sub", required
	Issuer    string    // "iss"
	Audience  []string  // "aud"
	ID        string    // "jti", required: the revocation handle
	Family    string    // "fam": the refresh family a token belongs to
	Type      TokenType // "token_type", required
	Scopes    []string  // "scope", space separated on the wire (RFC 9068)
	Roles     []string  // "roles"
	IssuedAt  time.Time // "iat"
	NotBefore time.Time // "nbf"
	ExpiresAt time.Time // "exp", required
}

var _ jwt.Claims = (*Claims)(nil)

func numericDate(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return &jwt.NumericDate{Time: t}
}

// GetExpirationTime implements [jwt.Claims].
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt), nil }

// GetIssuedAt implements [jwt.Claims].
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return numericDate(c.IssuedAt), nil }

// GetNotBefore implements [jwt.Claims].
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }

// GetIssuer implements [jwt.Claims].
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements [jwt.Claims].
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements [jwt.Claims].
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// HasScope reports whether c grants scope s.
func (c *Claims) HasScope(s string) bool { return contains(c.Scopes, s) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// wireClaims is the JSON shape of Claims. The parser decodes tokens into
// it directly (one JSON pass), then converts.
type wireClaims struct {
	Sub   string           `json:"sub,omitempty"`
	Iss   string           `json:"iss,omitempty"`
	Aud   jwt.ClaimStrings `json:"aud,omitempty"`
	Jti   string           `json:"jti,omitempty"`
	Fam   string           `json:"fam,omitempty"`
	Typ   TokenType        `json:"token_type,omitempty"`
	Scope string           `json:"scope,omitempty"`
	Roles []string         `json:"roles,omitempty"`
	Iat   wireTime         `json:"iat,omitzero"`
	Nbf   wireTime         `json:"nbf,omitzero"`
	Exp   wireTime         `json:"exp,omitzero"`
}

var _ jwt.Claims = (*wireClaims)(nil)

func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(w.Exp.t), nil }
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(w.Iat.t), nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(w.Nbf.t), nil }
func (w *wireClaims) GetIssuer() (string, error)                   { return w.Iss, nil }
func (w *wireClaims) GetSubject() (string, error)                  { return w.Sub, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return w.Aud, nil }

func (w *wireClaims) to(c *Claims) {
	*c = Claims{
		Subject: w.Sub, Issuer: w.Iss, Audience: w.Aud, ID: w.Jti, Family: w.Fam, Type: w.Typ,
		Scopes: strings.Fields(w.Scope), Roles: w.Roles,
		IssuedAt: w.Iat.t, NotBefore: w.Nbf.t, ExpiresAt: w.Exp.t,
	}
}

// wireTime is a NumericDate with millisecond precision.
type wireTime struct{ t time.Time }

func (w wireTime) IsZero() bool { return w.t.IsZero() }

func (w wireTime) MarshalJSON() ([]byte, error) {
	ms := w.t.UnixMilli()
	b := strconv.AppendInt(nil, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.')
		s := strconv.Itoa(int(frac) + 1000)[1:] // zero padded to 3 digits
		b = append(b, strings.TrimRight(s, "0")...)
	}
	return b, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z: later values are refused.
const maxNumericDate = 253402300799

var errBadDate = errors.New("auth: invalid numeric date")

func (w *wireTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errBadDate
	}
	w.t = time.UnixMilli(int64(math.Round(f * 1000)))
	return nil
}

// MarshalJSON encodes c as a JWT payload.
func (c *Claims) MarshalJSON() ([]byte, error) {
	return json.Marshal(&wireClaims{
		Sub: c.Subject, Iss: c.Issuer, Aud: c.Audience, Jti: c.ID, Fam: c.Family, Typ: c.Type,
		Scope: strings.Join(c.Scopes, " "), Roles: c.Roles,
		Iat: wireTime{c.IssuedAt}, Nbf: wireTime{c.NotBefore}, Exp: wireTime{c.ExpiresAt},
	})
}

// UnmarshalJSON decodes a JWT payload into c.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w wireClaims
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	w.to(c)
	return nil
}
