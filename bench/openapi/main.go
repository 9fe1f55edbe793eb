// Command openapi measures what a typed openapi route costs over the same
// route written by hand on echo (c.Param, strconv, validator, server.Bind,
// c.JSON), in one run, interleaved (A B A B in short slices; the figure
// reported is the median of the neighbour ratios), plus the time to build
// and marshal a document of 50 routes.
//
//	cd bench && go run ./openapi            # about 30 seconds
//	cd bench && go run ./openapi -rounds 3  # shorter
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

type Post struct {
	ID     int64    `json:"id,omitempty"` // the server sets it: not sent on create
	Title  string   `json:"title" validate:"required,min=3,max=100"`
	Status string   `json:"status" validate:"required,oneof=draft published"`
	Tags   []string `json:"tags"`
}

type GetIn struct {
	ID     int64  `path:"id" validate:"min=1"`
	Limit  int    `query:"limit" default:"20" validate:"min=1,max=100"`
	Status string `query:"status" validate:"omitempty,oneof=draft published"`
}

type CreateIn struct {
	Body Post
}

type op = func()

// serve is method target to h, with body as JSON if not empty.
func serve(h http.Handler, method, target, body string) op {
	req, _ := http.NewRequest(method, target, nil)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return harness.Serve(h, req, body)
}

func main() {
	rounds := flag.Int("rounds", 8, "A B rounds per pair")
	slice := flag.Duration("slice", 800*time.Millisecond, "length of each measurement")
	flag.Parse()

	// Both sides run on a bare echo with the server's validator: only the
	// binding and writing differ.
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	typed := echo.New()
	typed.Validator = s.Echo().Validator
	api, err := openapi.New(typed, "/api/v1", openapi.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	openapi.Get(api, "/posts/{id}", func(_ context.Context, in *GetIn) (*Post, error) {
		return &Post{ID: in.ID, Title: "Hello", Status: "draft", Tags: []string{"go"}}, nil
	})
	openapi.Post(api, "/posts", func(_ context.Context, in *CreateIn) (*Post, error) {
		p := in.Body
		p.ID = 1
		return &p, nil
	}, openapi.Status(http.StatusCreated))

	plain := echo.New()
	plain.Validator = s.Echo().Validator
	v := validator.New(validator.WithRequiredStructEnabled())
	bad := func(msg string) error { return server.NewError(http.StatusBadRequest, msg) }
	plain.GET("/api/v1/posts/:id", func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			return bad(`path parameter "id" must be an integer`)
		}
		limit := 20
		if q := c.QueryParam("limit"); q != "" {
			if limit, err = strconv.Atoi(q); err != nil {
				return bad(`query parameter "limit" must be an integer`)
			}
		}
		status := c.QueryParam("status")
		if v.Var(id, "min=1") != nil || v.Var(limit, "min=1,max=100") != nil || v.Var(status, "omitempty,oneof=draft published") != nil {
			return server.NewError(http.StatusUnprocessableEntity, "request validation failed")
		}
		return c.JSON(http.StatusOK, &Post{ID: id, Title: "Hello", Status: "draft", Tags: []string{"go"}})
	})
	plain.POST("/api/v1/posts", func(c echo.Context) error {
		var p Post
		if err := server.Bind(c, &p); err != nil {
			return err
		}
		p.ID = 1
		return c.JSON(http.StatusCreated, &p)
	})

	body := `{"title":"Hello world","status":"draft","tags":["go","api"]}`
	pairs := []struct {
		name        string
		peer, ours  op
		method, url string
	}{
		{name: "GET path+query params", peer: serve(plain, "GET", "/api/v1/posts/42?limit=10&status=draft", ""), ours: serve(typed, "GET", "/api/v1/posts/42?limit=10&status=draft", "")},
		{name: "POST JSON body", peer: serve(plain, "POST", "/api/v1/posts", body), ours: serve(typed, "POST", "/api/v1/posts", body)},
	}
	fmt.Printf("%-24s %14s %14s %10s\n", "request", "by hand", "typed", "ratio")
	for _, p := range pairs {
		ns, al := harness.Interleave(*rounds, *slice, []func(){p.peer, p.ours}, nil)
		fmt.Printf("%-24s %8.2f µs %3.0fa %8.2f µs %3.0fa %9.2f×\n", p.name,
			harness.Median(ns[0])/1000, harness.Median(al[0]), harness.Median(ns[1])/1000, harness.Median(al[1]), harness.MedianRatio(ns[1], ns[0]))
	}

	// Document build: 50 routes, uncached (Document + marshal), once per call.
	big, _ := openapi.New(echo.New(), "/api/v1", openapi.Config{})
	for i := range 50 {
		openapi.Get(big, "/r"+strconv.Itoa(i)+"/{id}", func(_ context.Context, in *GetIn) (*Post, error) { return nil, nil })
	}
	ns, allocs := harness.Measure(func() {
		if _, err := jsonDoc(big); err != nil {
			panic(err)
		}
	}, *slice)
	fmt.Printf("document of 50 routes: %.2f ms, %.0f allocs per build (served from cache after the first request)\n", ns/1e6, allocs)
}

func jsonDoc(a *openapi.API) ([]byte, error) {
	return json.Marshal(a.Document())
}
