package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/config"
)

// The process environment would normally be read; WithEnv stands in for it.
func Example() {
	var s config.Settings
	err := config.Load(&s,
		config.WithEnv(map[string]string{
			"SECRET_KEY":           "a-development-secret",
			"DATABASE_URL":         "postgres://app:hunter2@db:5432/app",
			"RATE_LIMIT_WINDOW":    "60",
			"BACKEND_CORS_ORIGINS": `["https://app.example.com"]`,
		}),
		config.WithDotEnv(""), // no .env file in this example
		config.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Environment, s.HTTPAddr, s.RateLimitWindow, s.CORSOrigins, s.DocsOn())
	fmt.Println(config.Redacted(s.DatabaseURL))
	// Output:
	// development :8000 1m0s [https://app.example.com] true
	// postgres://app:xxxxx@db:5432/app
}

// An app adds its own settings by embedding Settings.
func ExampleLoad_appSettings() {
	type AppSettings struct {
		config.Settings
		Workers   int           `env:"WORKERS" default:"4" doc:"Background workers"`
		PollEvery time.Duration `env:"POLL_EVERY" default:"5s" doc:"Queue poll interval"`
	}
	var s AppSettings
	err := config.Load(&s,
		config.WithEnvPrefix("SHOP"),
		config.WithEnv(map[string]string{"SHOP_WORKERS": "16", "SHOP_ENVIRONMENT": "test"}),
		config.WithDotEnv(""),
		config.WithLogger(slog.New(slog.DiscardHandler)),
	)
	fmt.Println(err, s.Workers, s.PollEvery, s.Environment, s.AccessTokenTTL())
	// Output: <nil> 16 5s test 30m0s
}

// Every problem comes back at once.
func ExampleError() {
	var s config.Settings
	err := config.Load(&s,
		config.WithEnv(map[string]string{
			"ENVIRONMENT":       "production",
			"ALLOWED_HOSTS":     "api.example.com",
			"RATE_LIMIT_WINDOW": "abc",
			"MAX_BODY_SIZE":     "-1",
		}),
		config.WithDotEnv(""),
	)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		for _, fe := range cerr.Fields {
			fmt.Println(fe)
		}
	}
	// Output:
	// RATE_LIMIT_WINDOW: "abc" is not a duration (use 90s, 1m30s or whole seconds)
	// MAX_BODY_SIZE: "-1" must not be negative
	// SECRET_KEY: must be set in production
}

func ExampleSettings_DocsConfig() {
	for _, env := range []string{"development", "staging", "production"} {
		docs := config.Settings{Environment: env, ProjectName: "Shop"}.DocsConfig()
		fmt.Printf("%s: docs served %v\n", env, !docs.Disabled)
	}
	// Output:
	// development: docs served true
	// staging: docs served true
	// production: docs served false
}
