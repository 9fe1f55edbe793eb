package config_test

import (
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// fuzzSettings is Settings (durations, ints, sizes, bools, lists, URLs,
// secrets, cross-field rules) plus the other kinds an app may add.
type fuzzSettings struct {
	config.Settings
	kinds
	Net netip.Prefix `env:"FUZZ_PREFIX"`
}

// FuzzLoadEnv loads settings from environment strings a deployer may
// write. Load never panics; it fails only with a *config.Error whose every
// entry names a variable of the struct (with the prefix) and gives a
// reason; a variable set alone that is refused is named (as the entry's
// variable or in its reason); and secrets never appear in the message.
func FuzzLoadEnv(f *testing.F) {
	for _, s := range []struct {
		i, j   uint8
		v1, v2 string
		prefix bool
	}{
		{0, 1, "x", "y", false},
		{10, 11, "90s", "1m30s", false},
		{10, 11, "-5s", "9223372036854775807", true},
		{14, 15, "1e3", "0x10", false},
		{20, 21, "yes", "maybe", false},
		{25, 26, "postgres://u:hunter2-secret@db:5432/app", "redis://:pw@[::1", false},
		{30, 31, `["a", "b"]`, "a,,b, c", false},
		{35, 36, "[1,2]", "{}", true},
		{40, 41, "4611686018427387904", "-0", false},
		{45, 46, "NaN", "1e400", false},
		{50, 51, "\x00", " \t ", false},
		{55, 56, "production", "*", false},
		{60, 61, "10.0.0.0/33", "::1", false},
	} {
		f.Add(s.i, s.v1, s.j, s.v2, s.prefix)
	}
	rows, err := config.Table(fuzzSettings{})
	if err != nil {
		f.Fatal(err)
	}
	secret := map[string]bool{}
	for _, r := range rows {
		secret[r.Var] = r.Secret
	}
	f.Fuzz(func(t *testing.T, i uint8, v1 string, j uint8, v2 string, prefix bool) {
		x, y := rows[int(i)%len(rows)].Var, rows[int(j)%len(rows)].Var
		name := func(v string) string { return v }
		opts := []config.Option{config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler))}
		if prefix {
			name = func(v string) string { return "APP_" + v }
			opts = append(opts, config.WithEnvPrefix("APP"))
		}
		known := map[string]bool{}
		for _, r := range rows {
			known[name(r.Var)] = true
		}
		check := func(env map[string]string) []config.FieldError {
			var s fuzzSettings
			err := config.Load(&s, append(slices.Clone(opts), config.WithEnv(env))...)
			if err == nil {
				return nil
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) || errors.Is(err, config.ErrInvalidTarget) || len(cerr.Fields) == 0 {
				t.Fatalf("Load(%q) = %v (%T); want a *config.Error", env, err, err)
			}
			msg := err.Error()
			for _, fe := range cerr.Fields {
				if !known[fe.Var] || fe.Reason == "" {
					t.Fatalf("Load(%q): entry %+v names no variable of the struct or gives no reason", env, fe)
				}
			}
			for k, v := range env {
				bare := strings.TrimPrefix(k, "APP_")
				if !secret[bare] || len(v) < 8 {
					continue
				}
				if bare == "DATABASE_URL" || bare == "REDIS_URL" {
					// A URL secret shows with its password masked.
					u, err := url.Parse(v)
					if err != nil || u.User == nil {
						continue
					}
					pw, ok := u.User.Password()
					if !ok || len(pw) < 6 || strings.Contains(strings.Replace(v, pw, "", 1), pw) {
						continue
					}
					v = pw
				}
				leak := strings.Contains(msg, v)
				for k2, v2 := range env {
					if k2 != k && strings.Contains(v2, v) {
						leak = false // shown as the other variable's value
					}
				}
				if leak {
					t.Fatalf("Load: the message %q shows the secret %s", msg, k)
				}
			}
			return cerr.Fields
		}
		// One variable alone: if it is refused, the error names it, as the
		// entry's variable or, for a rule between two settings
		// (EMAIL_SMTP_PORT "must be set when EMAIL_SMTP_HOST is set"), in
		// its reason.
		if x != "ENVIRONMENT" {
			fes := check(map[string]string{name(x): v1})
			names := func(fe config.FieldError) bool { return fe.Var == name(x) || strings.Contains(fe.Reason, name(x)) }
			if len(fes) > 0 && !slices.ContainsFunc(fes, names) {
				t.Fatalf("Load(%s=%q) = %v; want an entry naming %s", name(x), v1, fes, name(x))
			}
		}
		check(map[string]string{name(x): v1, name(y): v2})
	})
}
