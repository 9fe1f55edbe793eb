// Package sentryreporttest runs a stand-in for Sentry's ingestion server
// on loopback, for tests of code that reports through package
// [github.com/gantry-dev/gantry/report/sentryreport]: point the DSN at it
// and read what arrived.
//
//	ing := sentryreporttest.NewServer(t)
//	rep, err := sentryreport.New(sentryreport.Config{DSN: ing.DSN()})
//	// ... fail something, rep.Close(ctx) ...
//	events := ing.Events()
//
// It imports nothing but the standard library and testing.
package sentryreporttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the stand-in. It accepts envelopes at /api/<project>/envelope/
// and answers 200 to everything. It is safe for concurrent use.
type Server struct {
	ts *httptest.Server

	mu     sync.Mutex
	delay  time.Duration
	raw    [][]byte
	events []Event
	notify chan struct{}
}

// Event is one event item that arrived: its decoded JSON and its bytes.
type Event struct {
	JSON map[string]any
	Raw  []byte
}

// Tag returns the event's tag k ("" if absent).
func (e Event) Tag(k string) string {
	tags, _ := e.JSON["tags"].(map[string]any)
	s, _ := tags[k].(string)
	return s
}

// String returns the event's top-level field k as a string ("" if absent
// or not a string): "release", "environment", "transaction", "level".
func (e Event) String(k string) string {
	s, _ := e.JSON[k].(string)
	return s
}

// NewServer starts a stand-in on 127.0.0.1 that closes when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{notify: make(chan struct{}, 1)}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.ts.Close)
	return s
}

// DSN returns a DSN that points at the stand-in (project 1).
func (s *Server) DSN() string {
	return strings.Replace(s.ts.URL, "http://", "http://publickey@", 1) + "/1"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	time.Sleep(d)
	var evs []Event
	if strings.HasSuffix(r.URL.Path, "/envelope/") {
		evs = parse(body)
	}
	s.mu.Lock()
	s.raw = append(s.raw, body)
	s.events = append(s.events, evs...)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusOK)
}

// parse returns the event items of an envelope: a header line, then items,
// each a header line and a payload (of the header's length, or one line).
func parse(body []byte) []Event {
	br := bufio.NewReader(bytes.NewReader(body))
	if _, err := br.ReadBytes('\n'); err != nil {
		return nil
	}
	var out []Event
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			return out
		}
		var h struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if json.Unmarshal(line, &h) != nil {
			return out
		}
		var payload []byte
		if h.Length != nil {
			payload = make([]byte, *h.Length)
			if _, err := io.ReadFull(br, payload); err != nil {
				return out
			}
			_, _ = br.ReadBytes('\n')
		} else {
			payload, _ = br.ReadBytes('\n')
			payload = bytes.TrimSuffix(payload, []byte("\n"))
		}
		if h.Type == "event" {
			ev := Event{Raw: payload}
			if json.Unmarshal(payload, &ev.JSON) == nil {
				out = append(out, ev)
			}
		}
		if err != nil {
			return out
		}
	}
}

// SetDelay makes the stand-in wait d before it records and answers each
// request, as a slow ingestion server would.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Events returns the events that arrived so far, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Bytes returns every request body that arrived so far, envelopes
// included, joined: what a test searches for strings that must never
// leave the process.
func (s *Server) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.raw, []byte("\n"))
}

// WaitEvents waits until at least n events arrived or d passed, and
// returns the events.
func (s *Server) WaitEvents(n int, d time.Duration) []Event {
	deadline := time.After(d)
	for {
		if evs := s.Events(); len(evs) >= n {
			return evs
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Events()
		}
	}
}
