package jobshttp

import (
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/jobs"
)

func TestFormatMs(t *testing.T) {
	tests := []struct {
		ms   int64
		want string
	}{
		{0, "0"}, {-5, "0"}, {850, "850ms"}, {12_400, "12s"}, {184_000, "3m 4s"},
		{2*3600_000 + 5*60_000, "2h 5m"}, {3*86400_000 + 2*3600_000, "3d 2h"},
	}
	for _, tt := range tests {
		if got := formatMs(tt.ms); got != tt.want {
			t.Errorf("formatMs(%d) = %q; want %q", tt.ms, got, tt.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := formatNum(n); got != want {
			t.Errorf("formatNum(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestParseQueueQuery(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr string
		want    queueQuery
	}{
		{"", "", queueQuery{State: jobs.StatePending}},
		{"state=dead&kind=mail&order=newest&cursor=abc&back=&back=x", "", queueQuery{State: jobs.StateDead, Kind: "mail", Order: jobs.NewestFirst, Cursor: "abc", Back: []string{"", "x"}}},
		{"state=bogus", "state", queueQuery{}},
		{"order=sideways", "order", queueQuery{}},
		{"cursor=%00", "cursor", queueQuery{}},
		{"cursor=" + strings.Repeat("a", maxCursorLen+1), "cursor", queueQuery{}},
		{"back=%7F", "back", queueQuery{}},
		{"kind=" + strings.Repeat("k", maxKindLen+1), "kind", queueQuery{}},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.raw)
		got, err := parseQueueQuery(v)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse(%q) error = %v; want one naming %s", tt.raw, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.State != tt.want.State || got.Kind != tt.want.Kind || got.Order != tt.want.Order || got.Cursor != tt.want.Cursor || !slices.Equal(got.Back, tt.want.Back) {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}

	// A long walk keeps at most maxBack cursors behind it.
	q := queueQuery{State: jobs.StatePending}
	for i := range 3 * maxBack {
		q = q.next("c" + strings.Repeat("x", i))
	}
	if len(q.Back) != maxBack {
		t.Errorf("back stack holds %d; want %d", len(q.Back), maxBack)
	}
	p := q.prev()
	if p.Cursor != q.Back[len(q.Back)-1] || len(p.Back) != maxBack-1 {
		t.Errorf("prev = %+v", p)
	}
	if first := (queueQuery{State: jobs.StateDead, Cursor: "c"}).prev(); first.Cursor != "" || first.Back != nil {
		t.Errorf("prev of the second page = %+v; want the first page", first)
	}
}

// FuzzParseQueueQuery: any query string either fails with a 400 naming a
// parameter, or parses into a query whose URL parses back to the same
// query.
func FuzzParseQueueQuery(f *testing.F) {
	for _, s := range []string{
		"", "state=dead", "state=pending&kind=mail&order=oldest&cursor=abc&back=&back=def",
		"state=bogus", "cursor=%00", "order=newest&back=a&back=b&back=c", "kind=%E2%9C%93&state=retrying",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQueueQuery(v)
		if err != nil {
			if !strings.Contains(err.Error(), "query parameter") && !strings.Contains(err.Error(), "invalid query") {
				t.Fatalf("error %v names no parameter", err)
			}
			return
		}
		if !validState(q.State) || len(q.Back) > maxBack || !validCursor(q.Cursor) {
			t.Fatalf("parse(%q) = %+v: out of bounds", raw, q)
		}
		u, err := url.Parse(q.url("/q"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseQueueQuery(u.Query())
		if err != nil {
			t.Fatalf("url %s of %q does not parse: %v", u, raw, err)
		}
		want := q
		if want.Cursor == "" {
			want.Back = nil // the first page carries no back stack
		}
		if again.State != want.State || again.Kind != want.Kind || again.Order != want.Order || again.Cursor != want.Cursor || !slices.Equal(again.Back, want.Back) {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v", raw, want, u, again)
		}
	})
}

// TestScriptParses checks the embedded script's syntax with node, where it
// is installed (the browser test runs it for real).
func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if out, err := exec.CommandContext(t.Context(), node, "--check", "static/dashboard.js").CombinedOutput(); err != nil {
		t.Errorf("static/dashboard.js: %v\n%s", err, out)
	}
}
