package report_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/report"
	"github.com/gantry-dev/gantry/server"
)

// stdoutReporter is what a team using another error service writes: a
// Report method that sends the event (here: prints it). A real one queues
// the event and sends it from a goroutine of its own, with a Close that
// flushes.
type stdoutReporter struct{}

func (stdoutReporter) Report(_ context.Context, e report.Event) {
	fmt.Printf("%s %s %s %d request=%s panic=%v err=%q\n", e.Kind, e.Method, e.Route, e.Status, e.RequestID, e.Panic, e.Err)
}

func Example() {
	srv, _ := server.New(server.Config{Logger: slog.New(slog.DiscardHandler), Reporter: stdoutReporter{}})
	srv.Echo().GET("/orders/:id", func(c echo.Context) error {
		if c.Param("id") == "0" {
			panic("nil order")
		}
		return errors.New("db: connection reset")
	})
	srv.Echo().GET("/missing", func(echo.Context) error { return server.NewError(http.StatusNotFound, "no such thing") })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	<-srv.Ready()
	base := "http://" + srv.Addr().String()
	for _, path := range []string{"/orders/7", "/orders/0", "/missing"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("X-Request-ID", "req-1")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
	}
	stop()
	<-done
	// Output:
	// http GET /orders/:id 500 request=req-1 panic=<nil> err="db: connection reset"
	// http GET /orders/:id 500 request=req-1 panic=nil order err="internal server error: middleware: panic recovered: nil order"
}
