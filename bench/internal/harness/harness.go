package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxCalibration caps the call count Measure's calibration grows to, so
// that a call too fast for the clock still ends.
const maxCalibration = 1 << 26

// Measure runs f for about d and returns the nanoseconds and heap
// allocations (runtime.MemStats Mallocs, whole process) per call. It calls f
// once to warm up, then calibrates the call count by quadrupling it until a
// run takes more than d/10 (or the count passes 1<<26), and times one run of
// the count scaled to d (at least one call).
func Measure(f func(), d time.Duration) (ns, allocs float64) {
	f()
	n := 1
	for {
		start := time.Now()
		for range n {
			f()
		}
		if el := time.Since(start); el > d/10 || n > maxCalibration {
			n = int(float64(n) * float64(d) / float64(max(el, time.Microsecond)))
			break
		}
		n *= 4
	}
	n = max(n, 1)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for range n {
		f()
	}
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	return float64(el.Nanoseconds()) / float64(n), float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// Interleave measures ops in turn with [Measure] for d each, round after
// round (A B C, A B C, …), and returns per op the per-round nanoseconds and
// allocations: ns[i][r] is op i in round r. progress, if not nil, is called
// after each round with the number of rounds done.
func Interleave(rounds int, d time.Duration, ops []func(), progress func(done int)) (ns, allocs [][]float64) {
	ns, allocs = make([][]float64, len(ops)), make([][]float64, len(ops))
	for r := range rounds {
		for i, f := range ops {
			n, a := Measure(f, d)
			ns[i], allocs[i] = append(ns[i], n), append(allocs[i], a)
		}
		if progress != nil {
			progress(r + 1)
		}
	}
	return ns, allocs
}

// Median returns the median of xs (the mean of the two middle values for
// an even count, 0 for none). xs is not modified.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	default:
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
}

// MedianRatio returns the median of the per-round ratios a[i]/b[i] over
// the rounds both have.
func MedianRatio(a, b []float64) float64 {
	rs := make([]float64, 0, min(len(a), len(b)))
	for i := range min(len(a), len(b)) {
		rs = append(rs, a[i]/b[i])
	}
	return Median(rs)
}

// Throughput calls fn from g goroutines until d has passed and returns the
// calls per second and the number of calls that succeeded. Goroutine w
// passes worker = w and i = w, w+g, w+2g, …. A goroutine stops at its first
// error; the first error is returned once all have stopped.
func Throughput(g int, d time.Duration, fn func(worker, i int) error) (perSec float64, calls int64, err error) {
	var n atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range g {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i += g {
				if e := fn(w, i); e != nil {
					once.Do(func() { err = e })
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	calls = n.Load()
	return float64(calls) / time.Since(start).Seconds(), calls, err
}

// DiscardResponseWriter is an http.ResponseWriter that keeps nothing but
// its header map, which [Serve] clears before every request.
type DiscardResponseWriter struct {
	h http.Header
}

// NewDiscardResponseWriter returns a DiscardResponseWriter with an empty
// header map.
func NewDiscardResponseWriter() *DiscardResponseWriter {
	return &DiscardResponseWriter{h: http.Header{}}
}

// Header returns the header map.
func (w *DiscardResponseWriter) Header() http.Header { return w.h }

// Write discards b.
func (w *DiscardResponseWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader discards the status code.
func (w *DiscardResponseWriter) WriteHeader(int) {}

// Serve returns a call serving req, built once, to h with a reused
// [DiscardResponseWriter] whose headers it clears first. If body is not
// empty, every call rewinds it as req's body (and sets ContentLength); the
// caller sets Content-Type.
func Serve(h http.Handler, req *http.Request, body string) func() {
	w := NewDiscardResponseWriter()
	if body == "" {
		return func() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	}
	b := []byte(body)
	rd := bytes.NewReader(b)
	return func() {
		clear(w.h)
		rd.Reset(b)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(b))
		h.ServeHTTP(w, req)
	}
}

// BearerRequest returns http.NewRequest(method, target, nil), carrying
// token as "Authorization: Bearer <token>" if token is not empty. It panics
// if target does not parse.
func BearerRequest(method, target, token string) *http.Request {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// Check serves req to h once and returns an error unless h answers want:
// a handler failing fast would look fast.
func Check(h http.Handler, req *http.Request, want int) error {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		return fmt.Errorf("%s %s answered %d, want %d", req.Method, req.URL, rec.Code, want)
	}
	return nil
}

// RoundTripCounter is a redis.Hook counting client round trips: one per
// command, one per pipeline. Add it with client.AddHook(&counter).
type RoundTripCounter struct {
	n atomic.Int64
}

var _ redis.Hook = (*RoundTripCounter)(nil)

// Count returns the round trips so far.
func (c *RoundTripCounter) Count() int64 { return c.n.Load() }

// DialHook returns next unchanged.
func (c *RoundTripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one round trip per command.
func (c *RoundTripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one round trip per pipeline.
func (c *RoundTripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// RandomHex returns n random bytes in hex, for key prefixes and schema
// names that do not collide with another run's.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartRedis starts a private redis-server on 127.0.0.1:port (no
// persistence, its own temporary directory), waits until it answers, and
// returns a func that stops it by its process and removes the directory.
func StartRedis(ctx context.Context, port string) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "bench-redis-"+port)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(ctx).Err() == nil {
			return stop, nil
		}
		if i > 100 {
			stop()
			return nil, fmt.Errorf("redis-server on %s did not start", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RedisCommands returns the server's total of INFO commandstats calls
// (commands run inside scripts included).
func RedisCommands(ctx context.Context, rdb redis.UniversalClient) int64 {
	var total int64
	for _, line := range strings.Split(rdb.Info(ctx, "commandstats").Val(), "\n") {
		if i := strings.Index(line, "calls="); i >= 0 {
			rest := line[i+6:]
			n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
			total += n
		}
	}
	return total
}

// RedisCPU returns the server's user+system CPU time.
func RedisCPU(ctx context.Context, rdb redis.UniversalClient) time.Duration {
	var total float64
	for _, line := range strings.Split(rdb.Info(ctx, "cpu").Val(), "\n") {
		line = strings.TrimSpace(line)
		for _, k := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// SelfCPU returns this process's user+system CPU time.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
