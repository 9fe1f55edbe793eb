package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scrape returns the value of the series line that starts with series
// (name and labels as /metrics prints them).
func scrape(t *testing.T, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// TestPoolMetrics: the app serves the database pool's series and the job
// queues' latency on /metrics; a connection taken from the pool shows in
// go_sql_in_use_connections until it is returned.
func TestPoolMetrics(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, nil)
	const inUse = `go_sql_in_use_connections{db_name="main"}`
	before := scrape(t, l.base, inUse)
	cn, err := l.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, l.base, inUse); got != before+1 {
		t.Errorf("%s with a connection held = %v; want %v", inUse, got, before+1)
	}
	cn.Close()
	if got := scrape(t, l.base, inUse); got != before {
		t.Errorf("%s after the connection returned = %v; want %v", inUse, got, before)
	}
	if got := scrape(t, l.base, `go_sql_open_connections{db_name="main"}`); got < 1 {
		t.Errorf("open connections = %v; want >= 1", got)
	}
	if got := scrape(t, l.base, `gantry_jobs_queue_latency_seconds{queue="default"}`); got != 0 {
		t.Errorf("latency of the idle default queue = %v; want 0", got)
	}
}
