package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/auth"
	"golang.org/x/crypto/bcrypt"
)

func fastHashers(t *testing.T) map[string]*auth.Hasher {
	t.Helper()
	b, err := auth.NewHasher(auth.HasherConfig{Algorithm: auth.Bcrypt, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewHasher(auth.HasherConfig{Algorithm: auth.Argon2id, Argon2: auth.Argon2Params{Memory: 1024, Iterations: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*auth.Hasher{"bcrypt": b, "argon2id": a}
}

func TestHasherPasswords(t *testing.T) {
	p72 := strings.Repeat("p", 72)
	p73 := p72 + "x"
	emoji := strings.Repeat("🔐", 64) // 256 bytes
	tests := []struct {
		name, hashOf, verify string
		want                 bool
	}{
		{"same password", "correct horse", "correct horse", true},
		{"wrong password", "correct horse", "correct horsE", false},
		{"empty vs something", "", "x", false},
		{"72 bytes", p72, p72, true},
		{"73 bytes is its own password", p73, p73, true},
		{"P+x does not verify against 72-byte P", p72, p73, false},
		{"72-byte P does not verify against P+x", p73, p72, false},
		{"64 emoji", emoji, emoji, true},
		{"64 emoji minus one", emoji, strings.Repeat("🔐", 63), false},
		{"64 emoji plus x", emoji, emoji + "x", false},
	}
	for name, h := range fastHashers(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				enc, err := h.Hash(tt.hashOf)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := h.Verify(tt.verify, enc); got != tt.want || err != nil {
					t.Errorf("Verify = %v, %v; want %v", got, err, tt.want)
				}
			})
		}
	}
}

func TestHasherFormatsAndRehash(t *testing.T) {
	hs := fastHashers(t)
	bh, ah := hs["bcrypt"], hs["argon2id"]
	b, _ := bh.Hash("pw")
	a, _ := ah.Hash("pw")
	if !strings.HasPrefix(b, "$bcrypt-sha256$$2a$04$") {
		t.Errorf("bcrypt hash = %q", b)
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Count(a, "$") != 5 {
		t.Errorf("argon2id hash = %q; want a PHC string", a)
	}
	// each verifies the other's hashes (migration)
	for _, c := range []struct {
		h   *auth.Hasher
		enc string
	}{{bh, a}, {ah, b}} {
		if ok, err := c.h.Verify("pw", c.enc); !ok || err != nil {
			t.Errorf("cross Verify(%q) = %v, %v", c.enc[:12], ok, err)
		}
	}
	if bh.NeedsRehash(b) || ah.NeedsRehash(a) {
		t.Error("NeedsRehash of own current hash = true")
	}
	if !bh.NeedsRehash(a) || !ah.NeedsRehash(b) {
		t.Error("NeedsRehash of other algorithm = false")
	}
	b12, _ := auth.NewHasher(auth.HasherConfig{BcryptCost: 5})
	if !b12.NeedsRehash(b) {
		t.Error("NeedsRehash after a cost change = false")
	}
	// plain bcrypt (imported) verifies up to 72 bytes and never truncates
	p72 := strings.Repeat("p", 72)
	plain, _ := bcrypt.GenerateFromPassword([]byte(p72), 4)
	if ok, _ := bh.Verify(p72, string(plain)); !ok {
		t.Error("plain bcrypt of 72 bytes does not verify")
	}
	if ok, _ := bh.Verify(p72+"x", string(plain)); ok {
		t.Error("plain bcrypt: P+x verifies against 72-byte P")
	}
	if !bh.NeedsRehash(string(plain)) {
		t.Error("plain bcrypt does not need rehash")
	}
	if _, err := bh.Verify("pw", "md5$abc"); !errors.Is(err, auth.ErrUnknownHash) {
		t.Errorf("Verify(unknown) err = %v; want ErrUnknownHash", err)
	}
	if _, err := ah.Verify("pw", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"); !errors.Is(err, auth.ErrUnknownHash) {
		t.Errorf("Verify(huge memory) err = %v; want ErrUnknownHash", err)
	}
	if _, err := bh.Hash(strings.Repeat("x", 2000)); !errors.Is(err, auth.ErrPasswordTooLong) {
		t.Errorf("Hash(2000 bytes) err = %v; want ErrPasswordTooLong", err)
	}
}

func TestHasherDefaults(t *testing.T) {
	h, err := auth.NewHasher(auth.HasherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if h.NeedsRehash("$bcrypt-sha256$$2a$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012") {
		t.Error("default hasher is not bcrypt cost 12")
	}
	if _, err := auth.NewHasher(auth.HasherConfig{Algorithm: "md5"}); err == nil {
		t.Error("NewHasher(md5) succeeded")
	}
}
