package jobs

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzEventID feeds a client's Last-Event-ID (any text) to both backends'
// parsers: validEventID (Redis: anything it accepts is two decimal
// numbers, safe to pass to XREAD and the watch script) and the memory
// backend's watchOpen, which never panics and resumes only from an id of
// its own shape within its list.
func FuzzEventID(f *testing.F) {
	for _, s := range []string{"", "0-0", "0-3", "1700000000000-0", "1-2-3", "-1", "+1-0", "0-+1", "18446744073709551616-0",
		"0-18446744073709551615", " 0-1", "0-1\n", "abc", "0-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validEventID(s) {
			a, b, _ := strings.Cut(s, "-")
			if _, err := strconv.ParseUint(a, 10, 64); err != nil {
				t.Fatalf("validEventID(%q) accepted a bad first part", s)
			}
			if _, err := strconv.ParseUint(b, 10, 64); err != nil {
				t.Fatalf("validEventID(%q) accepted a bad second part", s)
			}
			if strings.ContainsAny(s, " \r\n\t+") {
				t.Fatalf("validEventID(%q) accepted a space or sign", s)
			}
		}
		b := NewMemoryBackend()
		for i := 0; i < 3; i++ {
			b.mu.Lock()
			if w := b.evs["j"]; w != nil {
				b.emit("j", Event{Type: EventState, State: StateActive})
			}
			b.mu.Unlock()
			pos, resumed, err := b.watchOpen(t.Context(), "q", "j", s, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := eventSeq(pos); !ok {
				t.Fatalf("watchOpen(%q) = position %q of another shape", s, pos)
			}
			if resumed && pos != s {
				t.Fatalf("watchOpen(%q) resumed at %q", s, pos)
			}
			if n, ok := eventSeq(s); resumed && (!ok || n > b.evs["j"].seq) {
				t.Fatalf("watchOpen(%q) resumed from an id it never gave", s)
			}
		}
	})
}
