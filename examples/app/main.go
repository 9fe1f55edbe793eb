// Command app is Gantry's example service: the FastAPI guide's whole service
// assembled from Gantry's packages. With no environment it runs on embedded
// defaults; see the README for the PostgreSQL + Redis mode.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/server"
)

func main() {
	if err := run(context.Background(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

// run wires the service and serves until SIGINT or SIGTERM.
func run(ctx context.Context, logOut io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	boot := slog.New(slog.NewTextHandler(logOut, nil))
	var cfg config.Settings
	if err := config.Load(&cfg, config.WithLogger(boot)); err != nil {
		return err
	}
	log := cfg.NewLogger(logOut)
	log.Info("starting", "settings", cfg)

	scfg := server.FromSettings(&cfg)
	scfg.Logger = log
	srv, err := server.New(scfg)
	if err != nil {
		return err
	}
	v1 := srv.Group(cfg.APIV1Prefix)
	v1.GET("/info", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{
			"name":        cfg.ProjectName,
			"version":     cfg.Version,
			"environment": cfg.Environment,
		})
	})
	return srv.Run(ctx)
}
