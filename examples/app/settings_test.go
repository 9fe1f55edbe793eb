package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// TestSettingsRules: the app's own settings (mail, uploads, API prefixes)
// are checked by its CheckSettings and reported by config.Load with
// Gantry's, one problem per bad variable.
func TestSettingsRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
		want    string
	}{
		{name: "api prefix", env: map[string]string{"API_V1_STR": "api/v1"}, wantVar: "API_V1_STR", want: "must start with /"},
		{name: "smtp port missing", env: map[string]string{"EMAIL_SMTP_HOST": "smtp.example.com"}, wantVar: "EMAIL_SMTP_PORT", want: "must be set when EMAIL_SMTP_HOST is set"},
		{name: "smtp port range", env: map[string]string{"EMAIL_SMTP_PORT": "70000"}, wantVar: "EMAIL_SMTP_PORT", want: "is not a port number"},
		{name: "smtp port negative", env: map[string]string{"EMAIL_SMTP_PORT": "-1"}, wantVar: "EMAIL_SMTP_PORT", want: `"-1" must not be negative`},
		{name: "negative file size", env: map[string]string{"MAX_FILE_SIZE": "-1"}, wantVar: "MAX_FILE_SIZE", want: `"-1" must not be negative`},
		{name: "zero file size", env: map[string]string{"MAX_FILE_SIZE": "0"}, wantVar: "MAX_FILE_SIZE", want: "must be greater than 0"},
		{name: "file size not a number", env: map[string]string{"MAX_FILE_SIZE": "big"}, wantVar: "MAX_FILE_SIZE", want: `"big" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s settings
			err := config.Load(&s, config.WithDotEnv(""), config.WithEnv(tt.env), config.WithLogger(slog.New(slog.DiscardHandler)))
			var cerr *config.Error
			if !errors.As(err, &cerr) || len(cerr.Fields) != 1 {
				t.Fatalf("Load() = %v; want exactly one problem", err)
			}
			if fe := cerr.Fields[0]; fe.Var != tt.wantVar || !strings.Contains(fe.Error(), tt.want) {
				t.Errorf("problem %q (var %s); want var %s and %q", fe.Error(), fe.Var, tt.wantVar, tt.want)
			}
		})
	}
}

// TestSettingsOwn: the app's settings load from the environment, are
// normalised, and the mail password never prints.
func TestSettingsOwn(t *testing.T) {
	t.Parallel()
	const password = "smtp-pa55word"
	var s settings
	err := config.Load(&s, config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler)), config.WithEnv(map[string]string{
		"EMAIL_SMTP_HOST": "smtp.example.com", "EMAIL_SMTP_PORT": "587", "EMAIL_SMTP_PASSWORD": password,
		"ALLOWED_EXTENSIONS": ".PNG,jpg", "API_V2_STR": "/v2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.SMTPHost != "smtp.example.com" || s.SMTPPort != 587 || s.SMTPPassword != password || s.APIV1Prefix != "/api/v1" || s.APIV2Prefix != "/v2" ||
		strings.Join(s.AllowedExtensions, ",") != "png,jpg" || s.MaxFileSize != 10<<20 {
		t.Errorf("settings = %+v", s)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("settings", "cfg", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), logged.String()} {
		if strings.Contains(out, password) {
			t.Errorf("the mail password printed: %s", out)
		}
	}
}
