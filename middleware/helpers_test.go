package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// logRecords decodes the JSON log lines written so far.
func logRecords(tb testing.TB, s *testenv.Buffer) []map[string]any {
	tb.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(s.String())))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			tb.Fatalf("decode log: %v", err)
		}
		out = append(out, m)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type envelope struct {
	Error struct {
		Code      int    `json:"code"`
		Type      string `json:"type"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Path      string `json:"path"`
	} `json:"error"`
}

// doReq sends req and returns the response with its body read.
func doReq(tb testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, b
}

func get(tb testing.TB, url string, hdr map[string]string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return doReq(tb, nil, req)
}

func decodeEnvelope(tb testing.TB, b []byte) envelope {
	tb.Helper()
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		tb.Fatalf("body %q is not an envelope: %v", b, err)
	}
	return env
}

// newEcho returns an echo with a JSON error handler shaped like the
// server's (status/type from HTTPStatus/ErrorType), for standalone tests.
func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, typ := http.StatusInternalServerError, ""
		var hs interface {
			HTTPStatus() int
			ErrorType() string
		}
		var he *echo.HTTPError
		switch {
		case errors.As(err, &hs):
			status, typ = hs.HTTPStatus(), hs.ErrorType()
		case errors.As(err, &he):
			status = he.Code
		}
		_ = c.JSON(status, map[string]any{"error": map[string]any{"code": status, "type": typ, "message": err.Error()}})
	}
	return e
}

// redisServer is a redis-server of the test's own on a port of this
// package's range (7200–7299), stopped by pid in Cleanup.
type redisServer struct {
	Addr string
	cmd  *exec.Cmd
	once sync.Once
}

var nextPort atomic.Int32

func startRedis(tb testing.TB, args ...string) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(tb, "redis-server binary", "apt-get install -y redis-server", err)
	}
	for range 20 {
		port := 7200 + int(nextPort.Add(1)+int32(os.Getpid()%50))%100
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			continue // taken
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
		cmd.Args = append(cmd.Args, args...)
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start redis-server: %v", err)
		}
		rs := &redisServer{Addr: addr, cmd: cmd}
		tb.Cleanup(rs.Stop)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := rdb.Ping(ctx).Err()
			cancel()
			rdb.Close()
			if err == nil {
				return rs
			}
			time.Sleep(50 * time.Millisecond)
		}
		rs.Stop()
	}
	tb.Fatal("could not start a redis-server on 7200-7299")
	return nil
}

// Stop kills the server (by its own pid) and waits for it.
func (r *redisServer) Stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
}

func (r *redisServer) String() string { return fmt.Sprintf("redis-server %s", r.Addr) }
