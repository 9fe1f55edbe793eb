package harness

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{3}, 3},
		{"odd", []float64{5, 1, 3}, 3},
		{"even averages the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := Median(in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("Median modified its input: %v", in)
				}
			}
		})
	}
}

func TestMedianRatio(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want float64
	}{
		{"per round, not of medians", []float64{2, 9, 4}, []float64{1, 3, 4}, 2},
		{"shorter side bounds the rounds", []float64{2, 4, 100}, []float64{1, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MedianRatio(tt.a, tt.b); got != tt.want {
				t.Errorf("MedianRatio = %v, want %v", got, tt.want)
			}
		})
	}
}

var sink []byte

func TestMeasure(t *testing.T) {
	ns, allocs := Measure(func() { sink = make([]byte, 64) }, 20*time.Millisecond)
	if ns <= 0 {
		t.Errorf("ns = %v, want > 0", ns)
	}
	if allocs < 0.9 || allocs > 1.5 {
		t.Errorf("allocs = %v, want about 1", allocs)
	}
}

func TestInterleave(t *testing.T) {
	var order []string
	var done []int
	ops := []func(){func() { order = append(order[:0], "a") }, func() { order = append(order[:0], "b") }}
	ns, allocs := Interleave(3, time.Millisecond, ops, func(n int) { done = append(done, n) })
	if len(ns) != 2 || len(ns[0]) != 3 || len(allocs[1]) != 3 {
		t.Fatalf("got %d ops × %d rounds, want 2 × 3", len(ns), len(ns[0]))
	}
	if len(done) != 3 || done[2] != 3 {
		t.Errorf("progress calls = %v, want [1 2 3]", done)
	}
}

func TestServe(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"no body", ""},
		{"body rewound every call", `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if len(w.Header()) != 0 {
					t.Errorf("headers not cleared: %v", w.Header())
				}
				w.Header().Set("X-Seen", "1")
				var b []byte
				if r.Body != nil {
					b, _ = io.ReadAll(r.Body)
				}
				got = append(got, string(b))
			})
			req, _ := http.NewRequest(http.MethodPost, "/x", nil)
			f := Serve(h, req, tt.body)
			f()
			f()
			if len(got) != 2 || got[0] != tt.body || got[1] != tt.body {
				t.Errorf("bodies = %q, want %q twice", got, tt.body)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if err := Check(h, BearerRequest(http.MethodGet, "/me", "tok"), http.StatusNoContent); err != nil {
		t.Errorf("with token: %v", err)
	}
	err := Check(h, BearerRequest(http.MethodGet, "/me", ""), http.StatusNoContent)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without token: err = %v, want one naming 401", err)
	}
}

func TestThroughput(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fail    bool
		wantErr error
	}{
		{"counts calls", false, nil},
		{"returns the first error", true, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perSec, calls, err := Throughput(4, 20*time.Millisecond, func(w, i int) error {
				if i%4 != w {
					t.Errorf("worker %d got i = %d", w, i)
				}
				if tt.fail && i >= 8 {
					return boom
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.fail && calls != 8 {
				t.Errorf("calls = %d, want 8", calls)
			}
			if !tt.fail && (calls == 0 || perSec <= 0) {
				t.Errorf("calls = %d, perSec = %v, want > 0", calls, perSec)
			}
		})
	}
}

func TestRoundTripCounter(t *testing.T) {
	// Nothing listens on port 1: the commands fail, but each is one trip
	// through the hooks.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	var c RoundTripCounter
	rdb.AddHook(&c)
	_ = rdb.Ping(t.Context()).Err()
	_, _ = rdb.Pipelined(t.Context(), func(p redis.Pipeliner) error {
		p.Get(t.Context(), "a")
		p.Get(t.Context(), "b")
		return nil
	})
	if got := c.Count(); got != 2 {
		t.Errorf("Count() = %d, want 2 (one command, one pipeline)", got)
	}
}
