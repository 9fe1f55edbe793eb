package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one signing or verification key with its key id ("kid") and the
// only algorithm it accepts. A token whose header names another algorithm
// is refused before any signature check: an HS256 token "signed" with an
// RSA or Ed25519 public key as the HMAC secret never verifies.
//
// Build keys with [NewHMACKey], [NewEd25519Key], [NewRSAKey] or
// [NewVerifyKey]; the zero Key is invalid.
type Key struct {
	id     string
	method jwt.SigningMethod
	sign   any // nil for verification-only keys
	verify any
}

// ID returns the key id.
func (k Key) ID() string { return k.id }

// Algorithm returns the JWS algorithm: "HS256", "EdDSA" or "RS256".
func (k Key) Algorithm() string {
	if k.method == nil {
		return ""
	}
	return k.method.Alg()
}

// CanSign reports whether k holds a private key or secret.
func (k Key) CanSign() bool { return k.sign != nil }

// MinHMACKeyBytes is the shortest secret [NewHMACKey] accepts (RFC 7518 §3.2).
const MinHMACKeyBytes = 32

// MinRSABits is the smallest RSA modulus [NewRSAKey] and [NewVerifyKey] accept.
const MinRSABits = 2048

// ErrWeakKey is returned by the key constructors for short secrets and small RSA keys.
var ErrWeakKey = errors.New("auth: key too weak")

// NewHMACKey returns an HS256 key. The secret must be at least
// [MinHMACKeyBytes] long; it is copied.
func NewHMACKey(id string, secret []byte) (Key, error) {
	if len(secret) < MinHMACKeyBytes {
		return Key{}, fmt.Errorf("%w: HS256 secret has %d bytes, need %d", ErrWeakKey, len(secret), MinHMACKeyBytes)
	}
	s := append([]byte(nil), secret...)
	return Key{id: id, method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// NewEd25519Key returns an EdDSA key that signs and verifies.
func NewEd25519Key(id string, priv ed25519.PrivateKey) (Key, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Key{}, errors.New("auth: invalid ed25519 private key")
	}
	return Key{id: id, method: jwt.SigningMethodEdDSA, sign: priv, verify: priv.Public()}, nil
}

// NewRSAKey returns an RS256 key that signs and verifies.
func NewRSAKey(id string, priv *rsa.PrivateKey) (Key, error) {
	if priv == nil {
		return Key{}, errors.New("auth: nil rsa key")
	}
	if priv.N.BitLen() < MinRSABits {
		return Key{}, fmt.Errorf("%w: RSA key has %d bits, need %d", ErrWeakKey, priv.N.BitLen(), MinRSABits)
	}
	return Key{id: id, method: jwt.SigningMethodRS256, sign: priv, verify: &priv.PublicKey}, nil
}

// NewVerifyKey returns a verification-only key for an ed25519.PublicKey
// (EdDSA) or *rsa.PublicKey (RS256): a retired signing key whose tokens stay
// valid until they expire, or another service's public key.
func NewVerifyKey(id string, pub any) (Key, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return Key{}, errors.New("auth: invalid ed25519 public key")
		}
		return Key{id: id, method: jwt.SigningMethodEdDSA, verify: p}, nil
	case *rsa.PublicKey:
		if p == nil || p.N.BitLen() < MinRSABits {
			return Key{}, fmt.Errorf("%w: RSA public key under %d bits", ErrWeakKey, MinRSABits)
		}
		return Key{id: id, method: jwt.SigningMethodRS256, verify: p}, nil
	}
	return Key{}, fmt.Errorf("auth: unsupported public key type %T", pub)
}

// keySet finds verification keys by kid in memory only: a kid is never a
// path, URL or query.
type keySet struct {
	signing Key
	byID    map[string]Key
	algs    []string
}

func newKeySet(keys []Key) (*keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no keys: set SecretKey or Keys")
	}
	if !keys[0].CanSign() {
		return nil, errors.New("auth: the first key must be able to sign")
	}
	ks := &keySet{signing: keys[0], byID: make(map[string]Key, len(keys))}
	for i, k := range keys {
		if k.method == nil {
			return nil, fmt.Errorf("auth: key %d is the zero Key", i)
		}
		if _, dup := ks.byID[k.id]; dup {
			return nil, fmt.Errorf("auth: duplicate key id %q", k.id)
		}
		ks.byID[k.id] = k
		if !contains(ks.algs, k.Algorithm()) {
			ks.algs = append(ks.algs, k.Algorithm())
		}
	}
	return ks, nil
}

var (
	errUnknownKey = errors.New("auth: unknown key id")
	errWrongAlg   = errors.New("auth: algorithm does not match the key")
)

// keyFunc returns the verification key named by the token's kid, and only
// if the token's algorithm is the key's own.
func (ks *keySet) keyFunc(t *jwt.Token) (any, error) {
	var kid string
	if v, ok := t.Header["kid"]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, errUnknownKey
		}
		kid = s
	}
	k, ok := ks.byID[kid]
	if !ok {
		return nil, errUnknownKey
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, errWrongAlg
	}
	return k.verify, nil
}
