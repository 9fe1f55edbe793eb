package middleware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/middleware"
)

// sink records what a LogBuffer writes; with gate set, every Write waits
// until the gate is closed (a stuck log pipe).
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{}
}

func (s *sink) Write(p []byte) (int, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *sink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func newLogBuffer(t *testing.T, w *sink, cfg middleware.LogBufferConfig) *middleware.LogBuffer {
	t.Helper()
	b, err := middleware.NewLogBuffer(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w.gate != nil {
			select {
			case <-w.gate:
			default:
				close(w.gate)
			}
		}
		_ = b.Close()
	})
	return b
}

// TestLogBufferLinesCompleteAndOrdered: 32 goroutines released at once
// log 500 records each through one JSON handler on a LogBuffer with small
// blocks; after Close every record is in the sink once, whole, and each
// goroutine's records are in the order it wrote them, in far fewer writes
// than records.
func TestLogBufferLinesCompleteAndOrdered(t *testing.T) {
	t.Parallel()
	w := &sink{}
	b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushSize: 4 << 10, Limit: 16 << 20, FlushInterval: time.Millisecond})
	log := slog.New(slog.NewJSONHandler(b, nil))
	const writers, each = 32, 500
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				log.Info("request", "g", g, "i", i, "pad", strings.Repeat("x", i%50))
			}
		})
	}
	close(start)
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	for _, line := range lines {
		var rec struct{ G, I int }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line is not a whole JSON record: %q: %v", line, err)
		}
		if rec.I != next[rec.G] {
			t.Fatalf("writer %d: record %d arrived when %d was due", rec.G, rec.I, next[rec.G])
		}
		next[rec.G]++
	}
	if len(lines) != writers*each || b.Dropped() != 0 {
		t.Errorf("sink holds %d lines, %d dropped; want %d, 0", len(lines), b.Dropped(), writers*each)
	}
	if n := w.Writes(); n >= writers*each/10 {
		t.Errorf("sink got %d writes for %d lines; want blocks of many lines", n, writers*each)
	}
}

// TestLogBufferSlowSinkNeverBlocks: with the sink stuck, a burst of 64
// goroutines writing 200 lines each finishes at once; what does not fit
// in Limit is dropped and counted (Dropped and the Prometheus counter),
// and once the sink moves again every line kept arrives.
func TestLogBufferSlowSinkNeverBlocks(t *testing.T) {
	t.Parallel()
	w := &sink{gate: make(chan struct{})}
	b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushSize: 1 << 10, Limit: 8 << 10, FlushInterval: time.Millisecond})
	reg := prometheus.NewRegistry()
	reg.MustRegister(b)
	const writers, each = 64, 200
	line := []byte(strings.Repeat("y", 99) + "\n")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			<-start
			for range each {
				if n, err := b.Write(line); n != len(line) || err != nil {
					t.Errorf("Write = %d, %v; want %d, nil", n, err, len(line))
					return
				}
			}
		})
	}
	began := time.Now()
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		close(w.gate)
		t.Fatal("writers blocked behind a stuck sink")
	}
	took := time.Since(began)
	dropped := b.Dropped()
	if dropped == 0 {
		t.Fatalf("nothing dropped with the sink stuck and %d bytes written into an 8 KiB limit", writers*each*len(line))
	}
	if got := counterValue(t, reg, "gantry_log_dropped_lines_total"); got != float64(dropped) {
		t.Errorf("gantry_log_dropped_lines_total = %v; want %d", got, dropped)
	}
	close(w.gate)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	kept := strings.Count(w.String(), "\n")
	if uint64(kept)+dropped != writers*each {
		t.Errorf("sink holds %d lines + %d dropped = %d; want %d", kept, dropped, uint64(kept)+dropped, writers*each)
	}
	// at most the buffer being written (Limit) plus the one filling (Limit)
	if kept > 2*(8<<10)/len(line)+1 {
		t.Errorf("sink holds %d lines; the buffers hold at most %d", kept, 2*(8<<10)/len(line))
	}
	t.Logf("%d writes in %v with the sink stuck, %d dropped", writers*each, took, dropped)
}

// counterValue returns the value of the counter name gathered from g.
func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

// TestLogBufferFlushes: below FlushSize a line waits for the interval
// (and not longer); at FlushSize the block goes at once; Close writes
// the rest, and a Write after Close goes straight to the sink.
func TestLogBufferFlushes(t *testing.T) {
	t.Parallel()
	t.Run("interval", func(t *testing.T) {
		t.Parallel()
		w := &sink{}
		b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushSize: 1 << 20, FlushInterval: 30 * time.Millisecond})
		fmt.Fprintln(b, "one")
		waitFor(t, "the interval flush", func() bool { return w.String() == "one\n" })
	})
	t.Run("size", func(t *testing.T) {
		t.Parallel()
		w := &sink{}
		b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushSize: 1000, FlushInterval: time.Hour})
		line := strings.Repeat("z", 99) + "\n"
		for range 9 {
			fmt.Fprint(b, line)
		}
		time.Sleep(50 * time.Millisecond)
		if s := w.String(); s != "" {
			t.Fatalf("sink got %d bytes below FlushSize; want none before the interval", len(s))
		}
		fmt.Fprint(b, line) // 1000 bytes
		waitFor(t, "the size flush", func() bool { return w.String() == strings.Repeat(line, 10) })
	})
	t.Run("close", func(t *testing.T) {
		t.Parallel()
		w := &sink{}
		b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushInterval: time.Hour})
		fmt.Fprintln(b, "a")
		fmt.Fprintln(b, "b")
		if w.String() != "" {
			t.Fatalf("sink = %q before Close; want nothing", w.String())
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(b, "c")
		if err := b.Close(); err != nil {
			t.Fatalf("second Close = %v; want nil", err)
		}
		if got := w.String(); got != "a\nb\nc\n" {
			t.Errorf("sink = %q; want %q", got, "a\nb\nc\n")
		}
	})
}

func TestLogBufferConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.LogBufferConfig
	}{
		{"negative size", middleware.LogBufferConfig{FlushSize: -1}},
		{"negative limit", middleware.LogBufferConfig{Limit: -1}},
		{"negative interval", middleware.LogBufferConfig{FlushInterval: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := middleware.NewLogBuffer(&sink{}, tt.cfg); err == nil {
				_ = b.Close()
				t.Errorf("NewLogBuffer(%+v) = nil error; want ErrInvalidConfig", tt.cfg)
			}
		})
	}
	if _, err := middleware.NewLogBuffer(nil, middleware.LogBufferConfig{}); err == nil {
		t.Error("NewLogBuffer(nil) = nil error; want ErrInvalidConfig")
	}
}

// TestStackAccessLogBuffered: the stack's access log on a LogBuffer loses
// nothing: 300 requests from 30 clients at once, then the server closes
// and the buffer closes, and the sink holds 300 whole access records.
func TestStackAccessLogBuffered(t *testing.T) {
	t.Parallel()
	w := &sink{}
	b := newLogBuffer(t, w, middleware.LogBufferConfig{FlushSize: 2 << 10, FlushInterval: 10 * time.Millisecond})
	log := slog.New(slog.NewJSONHandler(b, nil))
	s, err := middleware.NewStack(middleware.StackConfig{Logger: log, AccessLog: &middleware.AccessLogConfig{Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho()
	e.Use(s.Middleware())
	e.GET("/n/:i", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("i")) })
	ts := httptest.NewServer(e)
	const clients, each = 30, 10
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range clients {
		wg.Go(func() {
			<-start
			for i := range each {
				res, err := ts.Client().Get(fmt.Sprintf("%s/n/%d", ts.URL, g*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	ts.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(w.String()) {
		var rec struct{ Msg, Route, Path string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line is not whole JSON: %q", line)
		}
		if rec.Msg != "request" || rec.Route != "/n/:i" || seen[rec.Path] {
			t.Fatalf("unexpected record %+v (seen before: %v)", rec, seen[rec.Path])
		}
		seen[rec.Path] = true
	}
	if len(seen) != clients*each {
		t.Errorf("access log holds %d requests; want %d", len(seen), clients*each)
	}
}

// BenchmarkAccessLogSink is the cost of one access record by where it
// goes: io.Discard (formatting only), /dev/null through a LogBuffer, and
// /dev/null directly (a write system call per record).
func BenchmarkAccessLogSink(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	lb, err := middleware.NewLogBuffer(devnull, middleware.LogBufferConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer lb.Close()
	for _, s := range []struct {
		name string
		w    io.Writer
	}{{"discard", io.Discard}, {"buffered", lb}, {"unbuffered", devnull}} {
		b.Run(s.name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(s.w, nil))
			st, err := middleware.NewStack(middleware.StackConfig{Logger: log, AccessLog: &middleware.AccessLogConfig{Logger: log}, DisableRecover: true})
			if err != nil {
				b.Fatal(err)
			}
			e := echo.New()
			e.Use(st.Middleware())
			benchEcho(b, e)
		})
	}
}
