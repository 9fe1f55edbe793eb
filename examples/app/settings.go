package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/config"
)

// settings are the example app's settings: every Gantry setting plus the
// app's own, loaded by config.Load from defaults, a config file, .env and
// the environment.
type settings struct {
	config.Settings

	DataDir                string        `env:"DATA_DIR" default:"./data" doc:"Where the embedded SQLite database, uploaded files and the development outbox live"`
	FirstSuperuser         string        `env:"FIRST_SUPERUSER" doc:"Username of a superuser created at start-up when it does not exist yet"`
	FirstSuperuserEmail    string        `env:"FIRST_SUPERUSER_EMAIL" default:"admin@example.com" doc:"Email of the first superuser"`
	FirstSuperuserPassword string        `env:"FIRST_SUPERUSER_PASSWORD" secret:"true" doc:"Password of the first superuser"`
	Timezone               string        `env:"TIMEZONE" default:"UTC" doc:"Time zone of the periodic jobs (IANA name)"`
	PasswordHashCost       int           `env:"PASSWORD_HASH_COST" default:"12" doc:"bcrypt cost of new password hashes"`
	AuthRateLimitRequests  int           `env:"AUTH_RATE_LIMIT_REQUESTS" default:"10" doc:"Register, login and refresh calls allowed per address per AUTH_RATE_LIMIT_WINDOW"`
	AuthRateLimitWindow    time.Duration `env:"AUTH_RATE_LIMIT_WINDOW" default:"1m" doc:"Window of AUTH_RATE_LIMIT_REQUESTS"`
	WorkerQueues           string        `env:"WORKER_QUEUES" default:"default=3,email=3,image=2,reports=1,maintenance=1" doc:"Queues a worker serves with their weights"`
	RedisKeyPrefix         string        `env:"REDIS_KEY_PREFIX" default:"app:" doc:"Start of every Redis key the app writes (jobs, revocations, rate limits)"`
	WorkerConcurrency      int           `env:"WORKER_CONCURRENCY" default:"10" doc:"Jobs a worker process runs at once"`

	APIV1Prefix string `env:"API_V1_STR" default:"/api/v1" doc:"Path prefix of API version 1"`
	APIV2Prefix string `env:"API_V2_STR" default:"/api/v2" doc:"Path prefix of API version 2"`

	MaxFileSize       int64    `env:"MAX_FILE_SIZE" default:"10485760" doc:"Largest uploaded file in bytes"`
	AllowedExtensions []string `env:"ALLOWED_EXTENSIONS" default:"jpg,jpeg,png,gif,pdf" doc:"Upload file extensions accepted (lower case, no dot)"`

	SMTPHost     string `env:"EMAIL_SMTP_HOST" doc:"SMTP server host; empty disables email"`
	SMTPPort     int    `env:"EMAIL_SMTP_PORT" default:"0" doc:"SMTP server port"`
	SMTPUser     string `env:"EMAIL_SMTP_USER" doc:"SMTP user name"`
	SMTPPassword string `env:"EMAIL_SMTP_PASSWORD" secret:"true" json:"-" doc:"SMTP password"`
	SMTPFrom     string `env:"EMAIL_SMTP_FROM" doc:"Sender address of outgoing mail"`
}

// CheckSettings checks the app's own settings; config.Load reports its
// problems together with Gantry's (config.Checker). It also normalises
// ALLOWED_EXTENSIONS to lower case without dots.
func (s *settings) CheckSettings() []config.FieldError {
	var errs []config.FieldError
	bad := func(env, value, reason string) {
		errs = append(errs, config.FieldError{Var: env, Value: value, Reason: reason})
	}
	for _, p := range []struct{ env, v string }{{"API_V1_STR", s.APIV1Prefix}, {"API_V2_STR", s.APIV2Prefix}} {
		if !strings.HasPrefix(p.v, "/") {
			bad(p.env, p.v, "must start with /")
		}
	}
	switch {
	case s.MaxFileSize < 0:
		bad("MAX_FILE_SIZE", strconv.FormatInt(s.MaxFileSize, 10), "must not be negative")
	case s.MaxFileSize == 0:
		bad("MAX_FILE_SIZE", "0", "must be greater than 0")
	}
	for i, e := range s.AllowedExtensions {
		s.AllowedExtensions[i] = strings.ToLower(strings.TrimPrefix(e, "."))
	}
	switch {
	case s.SMTPPort < 0:
		bad("EMAIL_SMTP_PORT", strconv.Itoa(s.SMTPPort), "must not be negative")
	case s.SMTPPort > 65535:
		bad("EMAIL_SMTP_PORT", strconv.Itoa(s.SMTPPort), "is not a port number (0-65535)")
	case s.SMTPHost != "" && s.SMTPPort == 0:
		bad("EMAIL_SMTP_PORT", "", "must be set when EMAIL_SMTP_HOST is set")
	}
	return errs
}
