package config_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// mailSettings is an application's settings: Gantry's plus its own, with
// rules of its own (config.Checker).
type mailSettings struct {
	config.Settings

	MailHost     string   `env:"MAIL_HOST"`
	MailPort     int      `env:"MAIL_PORT" default:"0"`
	MailPassword string   `env:"MAIL_PASSWORD" secret:"true"`
	Extensions   []string `env:"EXTENSIONS" default:"png"`
}

func (s *mailSettings) CheckSettings() []config.FieldError {
	var errs []config.FieldError
	if s.MailHost != "" && s.MailPort == 0 {
		errs = append(errs, config.FieldError{Var: "MAIL_PORT", Reason: "must be set when MAIL_HOST is set"})
	}
	if s.MailPort > 65535 {
		errs = append(errs, config.FieldError{Var: "MAIL_PORT", Value: "70000", Reason: "is not a port number"})
	}
	for i, e := range s.Extensions {
		s.Extensions[i] = strings.ToLower(strings.TrimPrefix(e, "."))
	}
	return errs
}

var _ config.Checker = (*mailSettings)(nil)

// TestLoadChecker: an application's own rules are reported with Gantry's in
// one error, under the prefix, with the value's source; a value that did not
// decode is reported once; CheckSettings can normalise what it owns.
func TestLoadChecker(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string, opts ...config.Option) (mailSettings, []config.FieldError) {
		t.Helper()
		var s mailSettings
		err := config.Load(&s, append([]config.Option{config.WithEnv(env), config.WithDotEnv(""),
			config.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
		if err == nil {
			return s, nil
		}
		return s, fieldErrors(t, err)
	}
	tests := []struct {
		name string
		env  map[string]string
		opts []config.Option
		want []string // each problem's text, in order
	}{
		{name: "valid", env: map[string]string{"MAIL_HOST": "smtp.example.com", "MAIL_PORT": "587"}},
		{name: "app rule", env: map[string]string{"MAIL_HOST": "smtp.example.com"},
			want: []string{"MAIL_PORT: must be set when MAIL_HOST is set"}},
		{name: "with Gantry's problems", env: map[string]string{"MAIL_PORT": "70000", "LOG_LEVEL": "loud"},
			want: []string{`LOG_LEVEL: "loud" must be one of`, `MAIL_PORT: "70000" is not a port number`}},
		{name: "prefixed", env: map[string]string{"APP_MAIL_HOST": "smtp.example.com"}, opts: []config.Option{config.WithEnvPrefix("APP")},
			want: []string{"APP_MAIL_PORT: must be set when MAIL_HOST is set"}},
		{name: "not decoded, reported once", env: map[string]string{"MAIL_HOST": "smtp.example.com", "MAIL_PORT": "many"},
			want: []string{`MAIL_PORT: "many" is not`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, fes := load(tt.env, tt.opts...)
			if len(fes) != len(tt.want) {
				t.Fatalf("problems %v; want %d", fes, len(tt.want))
			}
			for i, w := range tt.want {
				if got := fes[i].Error(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q; want it to contain %q", i, got, w)
				}
			}
		})
	}
	t.Run("normalises", func(t *testing.T) {
		t.Parallel()
		s, fes := load(map[string]string{"EXTENSIONS": ".PNG,jpg"})
		if fes != nil || strings.Join(s.Extensions, ",") != "png,jpg" {
			t.Errorf("Extensions = %q (problems %v); want png,jpg", s.Extensions, fes)
		}
	})
}
