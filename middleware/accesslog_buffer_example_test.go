package middleware_test

import (
	"log/slog"
	"os"

	"github.com/gantry-dev/gantry/middleware"
)

// The process's logger writes through a LogBuffer: a log line costs no
// system call; main closes the buffer after the server has drained.
func ExampleNewLogBuffer() {
	buf, err := middleware.NewLogBuffer(os.Stdout, middleware.LogBufferConfig{})
	if err != nil {
		panic(err)
	}
	log := slog.New(stripTime{slog.NewJSONHandler(buf, nil)})
	log.Info("ready", "addr", ":8000")
	// ... srv.Run(ctx) with Config.Logger: log, and reg.MustRegister(buf)
	_ = buf.Close()
	// Output: {"level":"INFO","msg":"ready","addr":":8000"}
}
