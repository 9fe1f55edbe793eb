package config_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/config"
)

var update = flag.Bool("update", false, "rewrite SETTINGS.md")

func TestEnvironmentMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env, docs         string
		prod, dev, docsOn bool
	}{
		{env: "development", dev: true, docsOn: true},
		{env: "development", docs: "false", dev: true, docsOn: false},
		{env: "test", docsOn: true},
		{env: "staging", docsOn: true},
		{env: "production", prod: true, docsOn: false},
		{env: "production", docs: "true", prod: true, docsOn: true},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/docs="+tt.docs, func(t *testing.T) {
			t.Parallel()
			s := mustLoad(t, prodEnv(map[string]string{"ENVIRONMENT": tt.env, "DOCS_ENABLED": tt.docs}))
			if s.IsProduction() != tt.prod || s.IsDevelopment() != tt.dev || s.DocsOn() != tt.docsOn {
				t.Errorf("IsProduction, IsDevelopment, DocsOn = %v, %v, %v; want %v, %v, %v",
					s.IsProduction(), s.IsDevelopment(), s.DocsOn(), tt.prod, tt.dev, tt.docsOn)
			}
		})
	}
}

func TestTokenTTLs(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{"ACCESS_TOKEN_EXPIRE_MINUTES": "15", "REFRESH_TOKEN_EXPIRE_DAYS": "2"})
	if s.AccessTokenTTL() != 15*time.Minute || s.RefreshTokenTTL() != 48*time.Hour {
		t.Errorf("AccessTokenTTL, RefreshTokenTTL = %v, %v; want 15m, 48h", s.AccessTokenTTL(), s.RefreshTokenTTL())
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level, format string
		want          slog.Level
		json          bool
	}{
		{"debug", "json", slog.LevelDebug, true},
		{"INFO", "json", slog.LevelInfo, true},
		{"warn", "text", slog.LevelWarn, false},
		{"warning", "text", slog.LevelWarn, false},
		{"error", "json", slog.LevelError, true},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			t.Parallel()
			s := mustLoad(t, map[string]string{"LOG_LEVEL": tt.level, "LOG_FORMAT": tt.format})
			if s.SlogLevel() != tt.want {
				t.Errorf("SlogLevel() = %v; want %v", s.SlogLevel(), tt.want)
			}
			var buf bytes.Buffer
			log := s.NewLogger(&buf)
			log.Log(t.Context(), tt.want-1, "below")
			log.Log(t.Context(), tt.want, "at level")
			out := buf.String()
			if strings.Contains(out, "below") || !strings.Contains(out, "at level") {
				t.Errorf("log output %q; want only the line at %v", out, tt.want)
			}
			if isJSON := json.Valid(bytes.TrimSpace(buf.Bytes())); isJSON != tt.json {
				t.Errorf("JSON output = %v; want %v (%q)", isJSON, tt.json, out)
			}
		})
	}
	if (config.Settings{}).SlogLevel() != slog.LevelInfo {
		t.Errorf("zero Settings SlogLevel() != Info")
	}
}

// TestSettingsDoc keeps SETTINGS.md in step with the Settings tags. Rewrite it
// with: go test ./config -run TestSettingsDoc -update
func TestSettingsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString(settingsDocHeader)
	if err := config.WriteMarkdown(&b, config.Settings{}); err != nil {
		t.Fatal(err)
	}
	want := b.String()
	if *update {
		if err := os.WriteFile("SETTINGS.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("SETTINGS.md")
	if err != nil || string(got) != want {
		t.Errorf("SETTINGS.md is stale (err %v); run: go test ./config -run TestSettingsDoc -update", err)
	}
}

const settingsDocHeader = `# Settings

<!-- Generated from config/settings.go by: go test ./config -run TestSettingsDoc -update. Do not edit. -->

Every setting of ` + "`config.Settings`" + `, read by ` + "`config.Load`" + ` from (lowest precedence first) the
` + "`default`" + ` tags, the config file (` + "`CONFIG_FILE`" + ` or ` + "`config.WithFile`" + `: YAML, JSON or TOML, keys as below
in any case), ` + "`.env`" + ` in the working directory, and the environment. With ` + "`config.WithEnvPrefix(\"APP\")`" + `
the environment and ` + "`.env`" + ` names become ` + "`APP_DATABASE_URL`" + ` and so on.

Lists accept ` + "`a,b,c`" + ` or a JSON array; durations accept Go syntax (` + "`90s`, `1m30s`" + `) or whole seconds
(` + "`60`" + `); booleans accept true/false, 1/0, yes/no, on/off. An empty number, duration or boolean means its
default. Secrets never print (` + "`String`, `%v`, `LogValue`" + `, JSON).

`
