package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/health"
)

func ExampleCheckerFunc() {
	reg := health.New(health.Config{Logger: slog.New(slog.DiscardHandler)})
	reg.Register("disk", health.CheckerFunc(func(context.Context) error { return nil }))
	reg.Register("mailer", health.CheckerFunc(func(context.Context) error {
		return errors.New("smtp: connection refused")
	}), health.Critical(false))

	rep := reg.Check(context.Background())
	fmt.Println("overall:", rep.Status)
	fmt.Println("disk:", rep.Checks["disk"].Status)
	fmt.Println("mailer:", rep.Checks["mailer"].Status, "-", rep.Checks["mailer"].Error)
	// Output:
	// overall: degraded
	// disk: healthy
	// mailer: unhealthy - smtp: connection refused
}

func ExampleRegistry_Mount() {
	reg := health.New(health.Config{
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		Logger: slog.New(slog.DiscardHandler),
	})
	reg.Register("db", health.CheckerFunc(func(context.Context) error { return nil }))
	e := echo.New()
	reg.Mount(e)

	probe := func(path string) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body struct{ Status string }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		fmt.Println(path, rec.Code, body.Status)
	}
	probe("/health")
	probe("/health/ready")
	reg.SetDraining(true) // what the server does when shutdown starts
	probe("/health/ready")
	probe("/health")
	// Output:
	// /health 200 healthy
	// /health/ready 200 healthy
	// /health/ready 503 draining
	// /health 200 healthy
}

func ExampleSQL() {
	db, err := sqlx.Open("pgx", "postgres://postgres@127.0.0.1:5432/app?sslmode=disable")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	reg := health.New(health.Config{})
	reg.Register("postgres", health.SQL(db), health.Timeout(time.Second))
}

func ExampleRedis() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	reg := health.New(health.Config{})
	reg.Register("redis", health.Redis(rdb), health.Timeout(500*time.Millisecond), health.Critical(false))
}
