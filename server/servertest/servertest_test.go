package servertest_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

func TestStart(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	base := servertest.Start(t, s)
	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /health = %d; want 200", res.StatusCode)
	}
}
