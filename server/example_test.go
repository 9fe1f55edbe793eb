package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/server"
)

type greeting struct {
	Name string `json:"name" validate:"required,max=40"`
}

func ExampleNew() {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	v1 := s.Group("/api/v1")
	v1.POST("/greet", func(c echo.Context) error {
		var in greeting
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"message": "hello " + in.Name})
	})

	for _, body := range []string{`{"name":"gopher"}`, `{"name":""}`} {
		req, _ := http.NewRequest(http.MethodPost, "/api/v1/greet", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Echo().ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.Contains(rec.Body.String(), "hello gopher"), strings.Contains(rec.Body.String(), `"type":"validation_error"`))
	}
	// Output:
	// 200 true false
	// 422 false true
}

func ExampleServer_Run() {
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	s.AddHook(server.Hook{
		Name:  "database",
		Start: func(context.Context) error { fmt.Println("open database"); return nil },
		Stop:  func(context.Context) error { fmt.Println("close database"); return nil },
	})
	// main would use signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM).
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		<-s.Ready()
		res, err := http.Get("http://" + s.Addr().String() + "/health")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			fmt.Println(res.StatusCode, strings.Contains(string(b), `"status":"healthy"`))
		}
		stop()
	}()
	if err := s.Run(ctx); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// open database
	// 200 true
	// close database
}
