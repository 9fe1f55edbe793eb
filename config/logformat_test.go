package config_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

// TestLogFormatOneFormatPerProcess: with LOG_FORMAT unset, development
// logs text and other environments JSON; Load's own warnings (here the
// generated SECRET_KEY) written through WithLogOutput have the format of
// the lines the process logs afterwards, so no line differs.
func TestLogFormatOneFormatPerProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		json bool
	}{
		{"development", map[string]string{"ENVIRONMENT": "development"}, false},
		{"default environment", nil, false},
		{"test", map[string]string{"ENVIRONMENT": "test"}, true},
		{"development, LOG_FORMAT json", map[string]string{"ENVIRONMENT": "development", "LOG_FORMAT": "json"}, true},
		{"test, LOG_FORMAT text", map[string]string{"ENVIRONMENT": "test", "LOG_FORMAT": "TEXT"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			s := mustLoad(t, tt.env, config.WithLogOutput(&out))
			if out.Len() == 0 {
				t.Fatal("Load wrote no warning about the generated SECRET_KEY")
			}
			s.NewLogger(&out).Info("listening", "addr", ":8000")
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("log = %q; want the warning and the line", out.String())
			}
			for _, line := range lines {
				isJSON := json.Valid([]byte(line))
				isText := strings.HasPrefix(line, "time=") && strings.Contains(line, " level=")
				if isJSON != tt.json || isText == tt.json {
					t.Errorf("line %q: JSON %v, text %v; want JSON %v (LOG_FORMAT resolved to %q)", line, isJSON, isText, tt.json, s.LogFormat)
				}
			}
		})
	}
}
