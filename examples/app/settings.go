package main

import (
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
}
