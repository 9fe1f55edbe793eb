package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Password hashing algorithms for [HasherConfig].Algorithm.
const (
	Bcrypt   = "bcrypt"
	Argon2id = "argon2id"
)

// Argon2Params are the argon2id settings. The defaults (64 MiB, 3 passes,
// 1 lane) take about 100–170 ms per hash on a 2-core machine of 2026.
type Argon2Params struct {
	Memory      uint32 // KiB; default 65536 (64 MiB)
	Iterations  uint32 // default 3
	Parallelism uint8  // default 1
	SaltLength  uint32 // bytes; default 16
	KeyLength   uint32 // bytes; default 32
}

// HasherConfig configures a [Hasher]. The zero value is valid.
type HasherConfig struct {
	// Algorithm for new hashes: [Bcrypt] (default) or [Argon2id]. Verify
	// accepts both, so a deployment can switch and migrate on login.
	Algorithm string
	// BcryptCost for new bcrypt hashes; default 12 (about 190 ms here).
	BcryptCost int
	// Argon2 settings for new argon2id hashes.
	Argon2 Argon2Params
	// MaxPasswordBytes refuses longer passwords (hashing them is a denial
	// of service); default 1024.
	MaxPasswordBytes int
	// MaxConcurrent bounds the hashes and verifications computed at once,
	// both algorithms together, so that a burst of logins cannot exhaust
	// memory (each argon2id computation allocates Argon2.Memory) or starve
	// the CPU; default max(2, GOMAXPROCS). Negative means no bound.
	MaxConcurrent int
	// QueueWait is how long a hash or verification waits for a free slot
	// before it fails with [ErrBusy] (503 with Retry-After); default 2s,
	// negative means not at all.
	QueueWait time.Duration
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
//
// # bcrypt and its 72-byte limit
//
// bcrypt reads only the first 72 bytes of its input. The Hasher never
// gives bcrypt a raw password: it hashes HMAC-SHA256(password) in base64
// (44 bytes) instead, for every password at registration and at login, so
// every byte counts, a 64-emoji password (256 bytes) works, and P+"x" never
// verifies against P. Such hashes are stored as "$bcrypt-sha256$" followed
// by the bcrypt string. Plain bcrypt hashes ("$2a$", "$2b$", "$2y$", e.g.
// imported from another system) still verify, for passwords of at most 72
// bytes only (longer ones are refused rather than truncated), and
// [Hasher.NeedsRehash] reports them.
//
// # argon2id
//
// argon2id hashes are PHC strings:
// "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>" (unpadded base64).
//
// # Concurrency
//
// At most [HasherConfig].MaxConcurrent hashes and verifications run at
// once; the others wait up to QueueWait, then fail with a [*RetryError]
// wrapping [ErrBusy], which renders as 503 with Retry-After.
type Hasher struct {
	cfg       HasherConfig
	slots     chan struct{} // nil: no bound
	dummyOnce sync.Once
	dummy     string

	onCompute func(delta int) // test hook: +1 entering a computation, -1 leaving
}

// NewHasher returns a Hasher, or an error if cfg is invalid.
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = Bcrypt
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	a := &cfg.Argon2
	if a.Memory == 0 {
		a.Memory = 64 * 1024
	}
	if a.Iterations == 0 {
		a.Iterations = 3
	}
	if a.Parallelism == 0 {
		a.Parallelism = 1
	}
	if a.SaltLength == 0 {
		a.SaltLength = 16
	}
	if a.KeyLength == 0 {
		a.KeyLength = 32
	}
	if cfg.MaxPasswordBytes <= 0 {
		cfg.MaxPasswordBytes = 1024
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = max(2, runtime.GOMAXPROCS(0))
	}
	if cfg.QueueWait == 0 {
		cfg.QueueWait = 2 * time.Second
	}
	switch {
	case cfg.Algorithm != Bcrypt && cfg.Algorithm != Argon2id:
		return nil, fmt.Errorf("auth: unknown password algorithm %q", cfg.Algorithm)
	case cfg.BcryptCost < bcrypt.MinCost || cfg.BcryptCost > bcrypt.MaxCost:
		return nil, fmt.Errorf("auth: bcrypt cost %d out of range", cfg.BcryptCost)
	case a.Memory < 8*uint32(a.Parallelism) || a.SaltLength < 8 || a.KeyLength < 16:
		return nil, errors.New("auth: argon2id parameters too small")
	}
	h := &Hasher{cfg: cfg}
	if cfg.MaxConcurrent > 0 {
		h.slots = make(chan struct{}, cfg.MaxConcurrent)
	}
	return h, nil
}

// busyRetryAfter is the Retry-After of [ErrBusy].
const busyRetryAfter = time.Second

// acquire takes a hashing slot, waiting up to QueueWait; call the returned
// func to give it back.
func (h *Hasher) acquire() (func(), error) {
	if h.slots == nil {
		return h.enter(), nil
	}
	select {
	case h.slots <- struct{}{}:
	default:
		if h.cfg.QueueWait < 0 {
			return nil, &RetryError{Err: ErrBusy, RetryAfter: busyRetryAfter}
		}
		t := time.NewTimer(h.cfg.QueueWait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			return nil, &RetryError{Err: ErrBusy, RetryAfter: busyRetryAfter}
		}
	}
	leave := h.enter()
	return func() { leave(); <-h.slots }, nil
}

func (h *Hasher) enter() func() {
	if h.onCompute == nil {
		return func() {}
	}
	h.onCompute(1)
	return func() { h.onCompute(-1) }
}

const bcryptSHA256Prefix = "$bcrypt-sha256$"

// prehashKey separates our pre-hash from a plain SHA-256 of the password,
// so leaked unsalted SHA-256 hashes elsewhere cannot be tested against ours.
var prehashKey = []byte("gantry/auth bcrypt-sha256 v1")

func prehash(password string) []byte {
	m := hmac.New(sha256.New, prehashKey)
	m.Write([]byte(password))
	out := make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	base64.StdEncoding.Encode(out, m.Sum(nil))
	return out
}

// Hash returns the encoded hash of password with the configured algorithm.
// It returns [ErrPasswordTooLong] past MaxPasswordBytes, and a
// [*RetryError] wrapping [ErrBusy] when no hashing slot frees up in time.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > h.cfg.MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	release, err := h.acquire()
	if err != nil {
		return "", err
	}
	defer release()
	return h.hash(password)
}

func (h *Hasher) hash(password string) (string, error) {
	if h.cfg.Algorithm == Argon2id {
		p := h.cfg.Argon2
		salt := make([]byte, p.SaltLength)
		if _, err := rand.Read(salt); err != nil {
			return "", fmt.Errorf("auth: salt: %w", err)
		}
		key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
		b64 := base64.RawStdEncoding
		return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
			argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
	}
	b, err := bcrypt.GenerateFromPassword(prehash(password), h.cfg.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: bcrypt: %w", err)
	}
	return bcryptSHA256Prefix + string(b), nil
}

// ErrUnknownHash is returned by Verify for an encoded hash it cannot read.
var ErrUnknownHash = errors.New("auth: unknown password hash format")

// Verify reports whether password matches encoded, in constant time for a
// given hash. A wrong password is (false, nil); an unreadable hash is
// [ErrUnknownHash]; a [*RetryError] wrapping [ErrBusy] means no hashing
// slot freed up in time and the password was not checked.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	if len(password) > h.cfg.MaxPasswordBytes {
		return false, nil
	}
	release, err := h.acquire()
	if err != nil {
		return false, err
	}
	defer release()
	return h.verify(password, encoded)
}

func (h *Hasher) verify(password, encoded string) (bool, error) {
	switch {
	case strings.HasPrefix(encoded, bcryptSHA256Prefix):
		err := bcrypt.CompareHashAndPassword([]byte(encoded[len(bcryptSHA256Prefix):]), prehash(password))
		return bcryptResult(err)
	case isPlainBcrypt(encoded):
		if len(password) > 72 {
			return false, nil // never compare a truncated password
		}
		return bcryptResult(bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)))
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parseArgon2(encoded)
		if err != nil {
			return false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1, nil
	}
	return false, ErrUnknownHash
}

func bcryptResult(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: %w", ErrUnknownHash, err)
}

func isPlainBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// parseArgon2 reads a PHC argon2id string, refusing absurd parameters.
func parseArgon2(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrUnknownHash
	}
	var m, t, par uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrUnknownHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		default:
			return p, nil, nil, ErrUnknownHash
		}
	}
	if m < 8 || m > 4<<20 || t < 1 || t > 100 || par < 1 || par > 255 {
		return p, nil, nil, ErrUnknownHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 1024 {
		return p, nil, nil, ErrUnknownHash
	}
	p = Argon2Params{Memory: uint32(m), Iterations: uint32(t), Parallelism: uint8(par), SaltLength: uint32(len(salt)), KeyLength: uint32(len(key))}
	return p, salt, key, nil
}

// NeedsRehash reports whether encoded should be replaced by a new Hash of
// the password after a successful login: another algorithm, other
// parameters, or a plain (non pre-hashed) bcrypt hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	switch {
	case strings.HasPrefix(encoded, bcryptSHA256Prefix):
		if h.cfg.Algorithm != Bcrypt {
			return true
		}
		cost, err := bcrypt.Cost([]byte(encoded[len(bcryptSHA256Prefix):]))
		return err != nil || cost != h.cfg.BcryptCost
	case strings.HasPrefix(encoded, "$argon2id$"):
		if h.cfg.Algorithm != Argon2id {
			return true
		}
		p, _, _, err := parseArgon2(encoded)
		want := h.cfg.Argon2
		return err != nil || p.Memory != want.Memory || p.Iterations != want.Iterations ||
			p.Parallelism != want.Parallelism || p.KeyLength != want.KeyLength || p.SaltLength != want.SaltLength
	}
	return true
}

// DummyVerify spends the time of one Verify against a hash made with the
// current settings, and always fails. Call it when the account is unknown
// so that "no such user" and "wrong password" take the same time
// ([Authenticator] does). It takes a hashing slot like Verify and returns
// the same [ErrBusy] error when none frees up in time, nil otherwise. The
// dummy hash is made on first use.
func (h *Hasher) DummyVerify(password string) error {
	h.dummyOnce.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h.dummy, _ = h.hash(base64.RawStdEncoding.EncodeToString(b[:]))
	})
	_, err := h.Verify(password, h.dummy)
	var re *RetryError
	if errors.As(err, &re) {
		return err
	}
	return nil
}
