package config

import "github.com/gantry-dev/gantry/report/sentryreport"

// SentryConfig returns the options of the Sentry error reporter the
// settings describe: SENTRY_DSN, SENTRY_RELEASE (VERSION when empty),
// SENTRY_ENVIRONMENT (ENVIRONMENT when empty) and SENTRY_SAMPLE_RATE.
func (s Settings) SentryConfig() sentryreport.Config {
	c := sentryreport.Config{
		DSN:         s.SentryDSN,
		Release:     s.SentryRelease,
		Environment: s.SentryEnvironment,
		SampleRate:  s.SentrySampleRate,
	}
	if c.Release == "" {
		c.Release = s.Version
	}
	if c.Environment == "" {
		c.Environment = s.Environment
	}
	return c
}

// SentryReporter returns the error reporter the settings describe, or nil
// (and no error) when SENTRY_DSN is empty: set it as server.Config.Reporter
// and, through jobsreport.Wrap, as the runners' Wrap, only when it is not
// nil. The caller closes it (Close flushes) after the server and the
// runners have stopped. Its errors never contain the DSN.
func (s Settings) SentryReporter() (*sentryreport.Reporter, error) {
	if s.SentryDSN == "" {
		return nil, nil
	}
	return sentryreport.New(s.SentryConfig())
}
