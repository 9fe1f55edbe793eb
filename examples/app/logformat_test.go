package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFormatOnePerProcess: with LOG_FORMAT unset every line one run of
// the app writes has the same format, text in development and JSON in
// test, from Load's warning (no SECRET_KEY) to the last "closed" line, and
// none is left in the log buffer when run returns.
func TestLogFormatOnePerProcess(t *testing.T) {
	for _, tt := range []struct {
		env  string
		json bool
	}{{"development", false}, {"test", true}} {
		t.Run(tt.env, func(t *testing.T) {
			jobsEnv(t, map[string]string{"ENVIRONMENT": tt.env, "LOG_FORMAT": "", "SECRET_KEY": ""})
			_, stderr, _, err := runApp(t, "migrate", "up")
			if err != nil {
				t.Fatalf("migrate up: %v\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) < 3 || !strings.Contains(lines[0], "SECRET_KEY") || !strings.Contains(lines[len(lines)-1], "closed") {
				t.Fatalf("log = %q; want Load's SECRET_KEY warning first, the app's lines, and the closed database last", stderr)
			}
			for _, line := range lines {
				isJSON := json.Valid([]byte(line))
				isText := strings.HasPrefix(line, "time=") && strings.Contains(line, " level=")
				if isJSON != tt.json || isText == tt.json {
					t.Errorf("line %q: JSON %v, text %v; want JSON %v", line, isJSON, isText, tt.json)
				}
			}
		})
	}
}
