package jobscli

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/jobs"
)

func TestTableAligns(t *testing.T) {
	tb := newTable("QUEUE", ">PENDING", "PAUSED", ">LATENCY")
	tb.add("default", "3", "no", "4m12s")
	tb.add("email-long-name", "12345", "yes", "")
	tb.add("é", "0", "no", "1s")
	var b strings.Builder
	if err := tb.write(&b, true); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"QUEUE            PENDING  PAUSED  LATENCY\n" +
		"default                3  no        4m12s\n" +
		"email-long-name    12345  yes           -\n" +
		"é                      0  no           1s\n"
	if got := b.String(); got != want {
		t.Errorf("table =\n%s\nwant\n%s", got, want)
	}
}

func TestTableTrimsAndIndents(t *testing.T) {
	tb := newTable("A", "B")
	tb.indent = "  "
	tb.add("x\x1b[31mred", "") // an escape sequence in a job's error
	tb.add("a\nb", "c")
	var b strings.Builder
	_ = tb.write(&b, false)
	want := "  x\\x1b[31mred  -\n  a b           c\n"
	if got := b.String(); got != want {
		t.Errorf("table = %q; want %q", got, want)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"tab\there", "tab here"},
		{"line\r\nbreak", "line  break"},
		{"esc\x1b]0;title\x07", `esc\x1b]0;title\a`},
		{"c1\u009bcsi", `c1\u009bcsi`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"real \uFFFD kept", "real \uFFFD kept"},
		{"日本語", "日本語"},
		{"abc\u202edcba", `abc\u202edcba`}, // a right-to-left override
		{"emoji \U0001F600 kept", "emoji \U0001F600 kept"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got, want := cleanBlock("a\n\x1bb"), "a\n\\x1bb"; got != want {
		t.Errorf("cleanBlock = %q; want %q", got, want)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{900 * time.Millisecond, "0s"},
		{45 * time.Second, "45s"},
		{-45 * time.Second, "45s"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{5 * time.Minute, "5m"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{3*24*time.Hour + 4*time.Hour, "3d4h"},
		{400 * 24 * time.Hour, "400d"},
	}
	for _, tt := range tests {
		if got := duration(tt.in); got != tt.want {
			t.Errorf("duration(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestWhen(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	now := time.Date(2026, 12, 7, 14, 5, 17, 0, zone)
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"zero", time.Time{}, "-"},
		{"same day", now.Add(-3*time.Minute - 12*time.Second), "14:02:05 (3m12s ago)"},
		{"other zone shown in now's", time.Date(2026, 12, 7, 13, 2, 5, 0, time.UTC), "14:02:05 (3m12s ago)"},
		{"future", now.Add(45 * time.Second), "14:06:02 (in 45s)"},
		{"sub-second future is now", now.Add(300 * time.Millisecond), "14:05:17 (0s ago)"},
		{"other day", now.Add(-51 * time.Hour), "Dec 05 11:05 (2d3h ago)"},
		{"other year", now.Add(30 * 24 * time.Hour), "2027-01-06 14:05 (in 30d)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := when(tt.t, now); got != tt.want {
				t.Errorf("when(%v) = %q; want %q", tt.t, got, tt.want)
			}
		})
	}
	if got, want := whenLong(now.Add(-time.Minute), now), "2026-12-07 14:04:17 X (1m ago)"; got != want {
		t.Errorf("whenLong = %q; want %q", got, want)
	}
}

func TestParseState(t *testing.T) {
	for in, want := range map[string]jobs.State{
		"pending": jobs.StatePending, "running": jobs.StateActive, "active": jobs.StateActive,
		"DEAD": jobs.StateDead, "cancelled": jobs.StateCancelled,
	} {
		if got, ok := parseState(in); !ok || got != want {
			t.Errorf("parseState(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "done", "failed"} {
		if got, ok := parseState(in); ok {
			t.Errorf("parseState(%q) = %q, true; want false", in, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"default":     "default",
		"abc-_.=:/,+": "abc-_.=:/,+",
		"":            "''",
		"a b":         "'a b'",
		"it's":        `'it'\''s'`,
		"$(rm -rf)":   "'$(rm -rf)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzClean checks that text from jobs (kinds, errors, progress messages)
// reaches the terminal as one valid UTF-8 line with no control character,
// whatever a worker put in it, and that a table of it stays aligned.
func FuzzClean(f *testing.F) {
	f.Add("card declined")
	f.Add("\x1b[2J\x1b[H")
	f.Add("a\u009b31mb\r\nc\x00d\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := clean(s)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) || strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }) {
			t.Fatalf("clean(%q) = %q: invalid UTF-8 or a control character", s, got)
		}
		tb := newTable("A", ">B")
		tb.add(s, "1")
		tb.add("x", "22")
		var b strings.Builder
		_ = tb.write(&b, true)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("table of %q has %d lines; want 3:\n%s", s, len(lines), b.String())
		}
		for _, l := range lines {
			if utf8.RuneCountInString(l) != utf8.RuneCountInString(lines[1]) {
				t.Fatalf("table of %q is not aligned:\n%s", s, b.String())
			}
		}
	})
}
