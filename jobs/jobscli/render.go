package jobscli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/jobs"
)

// align is a column's alignment in a [table].
type align int

const (
	left align = iota
	right
)

// table is an aligned text table: a header row and rows of cells, each
// column padded to its widest cell, numbers right-aligned, columns two
// spaces apart. (text/tabwriter aligns every cell of a writer the same
// way, so it cannot right-align the number columns alone.)
type table struct {
	cols   []string
	aligns []align
	rows   [][]string
	indent string
}

func newTable(cols ...string) *table {
	t := &table{aligns: make([]align, len(cols))}
	for i, c := range cols {
		// A column named with a leading ">" is right-aligned.
		if name, ok := strings.CutPrefix(c, ">"); ok {
			c, t.aligns[i] = name, right
		}
		t.cols = append(t.cols, c)
	}
	return t
}

// add appends a row; cells are cleaned of control characters.
func (t *table) add(cells ...string) {
	row := make([]string, len(t.cols))
	for i := range row {
		if i < len(cells) {
			row[i] = clean(cells[i])
		}
		if row[i] == "" {
			row[i] = "-"
		}
	}
	t.rows = append(t.rows, row)
}

// write prints the table; with header false the column names are left out.
func (t *table) write(w io.Writer, header bool) error {
	widths := make([]int, len(t.cols))
	all := t.rows
	if header {
		all = append([][]string{t.cols}, t.rows...)
	}
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		var line strings.Builder
		line.WriteString(t.indent)
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if t.aligns[i] == right {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clean makes untrusted text (job kinds, errors, queue names) safe and
// one-line for a terminal: line breaks and tabs become spaces, other
// control characters (escape sequences that would move the cursor or
// recolour the screen) are shown as Go escapes.
func clean(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports a rune a terminal acts on instead of showing: a
// control character, or a bidirectional override that would reorder the
// text shown around it.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// cleanBlock is clean for multi-line text (formatted JSON, error
// messages): line breaks stay.
func cleanBlock(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	return strings.Join(lines, "\n")
}

// truncate shortens s to at most n runes, ending it with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// stateName is how a person reads a state: "running" for active, the
// word the dashboard and the issue use; the JSON keeps the stored name.
func stateName(s jobs.State) string {
	if s == jobs.StateActive {
		return "running"
	}
	return string(s)
}

// parseState reads a --state value: a state's name, or "running" for
// active.
func parseState(s string) (jobs.State, bool) {
	switch st := jobs.State(strings.ToLower(s)); st {
	case jobs.StatePending, jobs.StateScheduled, jobs.StateActive, jobs.StateRetrying,
		jobs.StateSucceeded, jobs.StateDead, jobs.StateCancelled:
		return st, true
	case "running":
		return jobs.StateActive, true
	}
	return "", false
}

// duration formats d with at most two units, the largest first: "45s",
// "3m12s", "2h5m", "3d4h". Under a second it is "0s".
func duration(d time.Duration) string {
	d = d.Abs()
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return two(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return two(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	default:
		return two(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
	}
}

func two(a int, au string, b int, bu string) string {
	if b == 0 {
		return strconv.Itoa(a) + au
	}
	return strconv.Itoa(a) + au + strconv.Itoa(b) + bu
}

// relative is t seen from now: "3m12s ago", "in 45s".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	if d <= -time.Second {
		return "in " + duration(d)
	}
	return duration(d) + " ago"
}

// when is a table cell for t: the clock time when t is on now's day,
// else the date too, then how long ago or how soon, in now's time zone:
// "14:02:05 (3m12s ago)", "Dec 05 14:02 (2d3h ago)". The zero time is "-".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(now.Location())
	var abs string
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	switch {
	case ty == ny && tm == nm && td == nd:
		abs = t.Format("15:04:05")
	case ty == ny:
		abs = t.Format("Jan 02 15:04")
	default:
		abs = t.Format("2006-01-02 15:04")
	}
	return abs + " (" + relative(t, now) + ")"
}

// whenLong is when for a detail line: the full date, time and zone.
func whenLong(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(now.Location()).Format("2006-01-02 15:04:05 MST") + " (" + relative(t, now) + ")"
}

// count formats n for a table.
func count(n int64) string { return strconv.FormatInt(n, 10) }

// plural is "1 job", "3 jobs".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (r == '-' || r == '_' || r == '.' || r == '=' || r == '/' || r == ':' || r == ',' || r == '+' ||
			'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
