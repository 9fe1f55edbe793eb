// Package servertest runs a [server.Server] on a loopback port for the length
// of a test, as net/http/httptest does for a handler.
package servertest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/server"
)

// Start serves s on 127.0.0.1 with a free port, waits until it accepts
// connections, and returns its base URL ("http://127.0.0.1:PORT"). When the
// test ends the server drains and stops; a non-nil error from Run fails the
// test.
func Start(tb testing.TB, s *server.Server) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("servertest: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	select {
	case <-s.Ready():
	case err := <-done:
		cancel()
		tb.Fatalf("servertest: server stopped before serving: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		tb.Fatal("servertest: server not ready within 10s")
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				tb.Errorf("servertest: server: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Error("servertest: server did not stop within 30s")
		}
	})
	return "http://" + s.Addr().String()
}
