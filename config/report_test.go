package config_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/report"
	"github.com/gantry-dev/gantry/report/sentryreport/sentryreporttest"
)

func TestSentryReporterUnset(t *testing.T) {
	s := mustLoad(t, nil)
	rep, err := s.SentryReporter()
	if rep != nil || err != nil {
		t.Errorf("SentryReporter() with no SENTRY_DSN = %v, %v; want nil, nil", rep, err)
	}
}

// SENTRY_DSN set: the reporter sends to it, with SENTRY_RELEASE (or
// VERSION) and SENTRY_ENVIRONMENT (or ENVIRONMENT); the DSN never prints.
func TestSentryReporter(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		release, environ string
	}{
		{"defaults", map[string]string{"VERSION": "2.0.1", "ENVIRONMENT": "test"}, "2.0.1", "test"},
		{"explicit", map[string]string{"SENTRY_RELEASE": "abc123", "SENTRY_ENVIRONMENT": "eu-staging", "ENVIRONMENT": "test"}, "abc123", "eu-staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := sentryreporttest.NewServer(t)
			tt.env["SENTRY_DSN"] = ing.DSN()
			s := mustLoad(t, tt.env)
			for _, out := range []string{s.String(), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), slog.AnyValue(s).String()} {
				if strings.Contains(out, "publickey@") {
					t.Errorf("settings print the DSN: %s", out)
				}
			}
			rep, err := s.SentryReporter()
			if err != nil || rep == nil {
				t.Fatalf("SentryReporter() = %v, %v", rep, err)
			}
			rep.Report(t.Context(), report.Event{Kind: report.KindHTTP, Err: errors.New("boom"), Method: "GET", Route: "/x", Status: 500})
			if err := rep.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			evs := ing.Events()
			if len(evs) != 1 || evs[0].String("release") != tt.release || evs[0].String("environment") != tt.environ {
				t.Fatalf("events = %d (%v); want one, release %q environment %q", len(evs), evs, tt.release, tt.environ)
			}
		})
	}
}

func TestSentrySettingsInvalid(t *testing.T) {
	tests := []struct {
		name, env, value, want string
	}{
		{"DSN without key", "SENTRY_DSN", "https://zzsecret.example/1", "SENTRY_DSN"},
		{"DSN not a URL scheme", "SENTRY_DSN", "zzsecret", "SENTRY_DSN"},
		{"rate above 1", "SENTRY_SAMPLE_RATE", "1.5", "SENTRY_SAMPLE_RATE"},
		{"rate 0", "SENTRY_SAMPLE_RATE", "0", "SENTRY_SAMPLE_RATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, map[string]string{tt.env: tt.value})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load(%s=%s) = %v; want an error naming %s", tt.env, tt.value, err, tt.want)
			}
			if strings.Contains(err.Error(), "zzsecret") {
				t.Errorf("error quotes the DSN: %v", err)
			}
		})
	}
}
