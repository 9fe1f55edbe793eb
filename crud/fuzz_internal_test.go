package crud

import (
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gantry-dev/gantry/crud/internal/row"
)

// fuzzRow has a column of every kind a cursor or a filter value carries.
type fuzzRow struct {
	ID    int64          `db:"id"`
	Title string         `db:"title"`
	Score float64        `db:"score"`
	At    time.Time      `db:"at"`
	OK    bool           `db:"ok"`
	U     uint32         `db:"u"`
	I8    int8           `db:"i8"`
	F32   float32        `db:"f32"`
	Key   uuid.UUID      `db:"key"`
	Opt   *int32         `db:"opt"`
	Null  sql.NullString `db:"null"`
}

var fuzzCursorKey = []byte("fuzz cursor key, not a secret at all")

func fuzzModel(tb testing.TB) *model {
	tb.Helper()
	m, err := newModel(reflect.TypeFor[fuzzRow](), "sqlite", Config{Table: "rows", CursorKey: fuzzCursorKey})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// sortable are the non-nullable columns a cursor can carry.
var sortable = []string{"title", "score", "at", "ok", "u", "i8", "f32"}

// sortOf picks sort keys from the bits of sel.
func sortOf(sel uint16) []Sort {
	var out []Sort
	for i, c := range sortable {
		if sel&(1<<i) != 0 {
			out = append(out, Sort{Field: c, Desc: sel&(1<<(i+8)) != 0})
		}
	}
	return out
}

func wantInvalidQuery(tb testing.TB, what string, err error) {
	tb.Helper()
	var ce *Error
	if !errors.As(err, &ce) || ce.HTTPStatus() != 400 || !errors.Is(err, ErrInvalidQuery) || len(ce.Problems()) == 0 {
		tb.Fatalf("%s: error %v (%T); want a 400 ErrInvalidQuery with details", what, err, err)
	}
}

// sameValue compares a decoded cursor value with the row's, NaN equal to
// NaN.
func sameValue(a, b any) bool {
	if x, ok := a.(float64); ok {
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	}
	if x, ok := a.(float32); ok {
		y, ok := b.(float32)
		return ok && (x == y || x != x && y != y)
	}
	if x, ok := a.(time.Time); ok {
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return reflect.DeepEqual(a, b)
}

// FuzzCursor signs the cursor after a row of any content under any sort:
// it opens back to the row's values (round trip), the next page's query is
// built from it, and any change to one byte of it, or a cursor for another
// sort, is refused with a 400.
func FuzzCursor(f *testing.F) {
	f.Add(int64(1), "hello", 1.5, int64(1700000000123456789), true, uint32(7), int8(-3), float32(2.5), uint16(0x0001), uint16(0), byte(1))
	f.Add(int64(-9), "quote \" back \\ nul \x00 ctl \x1f <&> \u2028", -0.0, int64(0), false, uint32(0), int8(127), float32(-1), uint16(0x01ff), uint16(17), byte(0x80))
	f.Add(int64(math.MaxInt64), "é😀", math.Inf(1), int64(-1), false, uint32(math.MaxUint32), int8(-128), float32(math.Inf(-1)), uint16(0xff06), uint16(999), byte(0xff))
	f.Add(int64(0), "bad \xff utf-8", math.NaN(), int64(math.MaxInt64), true, uint32(1), int8(0), float32(math.NaN()), uint16(0x0082), uint16(3), byte(2))
	f.Add(int64(3), "", 5e-324, int64(math.MinInt64), true, uint32(1), int8(0), float32(1e-45), uint16(0x00c0), uint16(65535), byte(4))
	m := fuzzModel(f)
	f.Fuzz(func(t *testing.T, id int64, title string, score float64, atNanos int64, ok bool, u uint32, i8 int8, f32 float32,
		sel uint16, pos uint16, flip byte) {
		r := fuzzRow{ID: id, Title: title, Score: score, At: time.Unix(0, atNanos), OK: ok, U: u, I8: i8, F32: f32,
			Key: uuid.NewSHA1(uuid.NameSpaceURL, []byte(title))}
		q := Query{Sort: sortOf(sel), Limit: 1}
		p, err := m.plan(q, true)
		if err != nil {
			t.Fatalf("plan(%+v) = %v", q, err)
		}
		cursor, err := m.cursorFor(p, reflect.ValueOf(r))
		if err != nil {
			t.Fatalf("cursor for %+v under %s: %v", r, p.signature(), err)
		}
		q.Cursor = cursor
		next, err := m.plan(q, true)
		if len(cursor) > row.MaxCursorLen {
			// A long text sort key makes a cursor longer than any accepted.
			wantInvalidQuery(t, "oversized cursor", err)
			return
		}
		if err != nil {
			t.Fatalf("plan with the cursor after %+v under %s: %v", r, p.signature(), err)
		}
		rv := reflect.ValueOf(r)
		for i, k := range next.sort {
			want := row.Normalize(rv.FieldByIndex(k.F.Index).Interface())
			if !sameValue(next.after[i], want) {
				t.Fatalf("cursor value %s = %#v; want %#v", k.F.Column, next.after[i], want)
			}
		}

		// One byte changed: refused.
		if flip != 0 {
			b := []byte(cursor)
			b[int(pos)%len(b)] ^= flip
			q.Cursor = string(b)
			_, err := m.plan(q, true)
			wantInvalidQuery(t, "tampered cursor "+strconv.Quote(q.Cursor), err)
		}
		// Another sort: refused.
		other := q
		other.Cursor = cursor
		other.Sort = sortOf(sel ^ (1 << (pos % 16)))
		if p2, err := m.plan(Query{Sort: other.Sort, Limit: 1}, true); err == nil && p2.signature() != p.signature() {
			_, err := m.plan(other, true)
			wantInvalidQuery(t, "cursor of sort "+p.signature()+" under "+p2.signature(), err)
		}
	})
}

// FuzzOpenCursor opens a client's cursor text: anything but a cursor this
// key signed is refused with a 400, never a panic or another error.
func FuzzOpenCursor(f *testing.F) {
	m := fuzzModel(f)
	genuine := map[string]bool{}
	for i, row := range []fuzzRow{{ID: 1, Title: "a"}, {ID: 2, Title: "b", Score: 2}} {
		q := Query{Sort: sortOf(uint16(i + 1)), Limit: 1}
		p, err := m.plan(q, true)
		if err != nil {
			f.Fatal(err)
		}
		c, err := m.cursorFor(p, reflect.ValueOf(row))
		if err != nil {
			f.Fatal(err)
		}
		genuine[c] = true
		f.Add(c, uint16(i+1))
	}
	for _, s := range []string{"", ".", "a.b", "eyJzIjoiaWQiLCJ2IjpbMV19.", "eyJzIjoiaWQiLCJ2IjpbMV19.AAAA", "!!!.???", "e30.e30", "a.b.c"} {
		f.Add(s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, cursor string, sel uint16) {
		q := Query{Sort: sortOf(sel), Limit: 1, Cursor: cursor}
		_, err := m.plan(q, true)
		if cursor == "" {
			if err != nil {
				t.Fatalf("plan without a cursor: %v", err)
			}
			return
		}
		if genuine[cursor] && err == nil {
			return
		}
		wantInvalidQuery(t, "cursor "+strconv.Quote(cursor), err)
	})
}

// FuzzFilterValue converts a query-string value for a column of every
// kind: it parses to the column's Go type and renders back to the same
// value, or it is refused with a 400 ErrInvalidQuery naming the column,
// for every operator.
func FuzzFilterValue(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "+1", "01", " 1", "1.0", "0x1", "1e3", "-0", "99999999999999999999", "128", "-129",
		"true", "TRUE", "t", "1.5", "NaN", "-Inf", "1e39", "2024-01-01T00:00:00Z", "2024-02-30T00:00:00Z",
		"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59.9999999-23:59", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8", "\xff"} {
		f.Add(s)
	}
	m := fuzzModel(f)
	f.Fuzz(func(t *testing.T, s string) {
		for i := range m.si.Fields {
			fd := &m.si.Fields[i]
			v, err := fd.Convert(s)
			q := Query{Filters: []Filter{{Field: fd.Column, Op: Eq, Value: s}}}
			_, perr := m.plan(q, false)
			if err != nil {
				wantInvalidQuery(t, fd.Column+" = "+strconv.Quote(s), perr)
				if d := perr.(*Error).Problems()[0]; d.Field != fd.Column {
					t.Fatalf("%s = %q: detail names %q", fd.Column, s, d.Field)
				}
				continue
			}
			if perr != nil {
				t.Fatalf("%s = %q: convert accepts it, plan says %v", fd.Column, s, perr)
			}
			if reflect.TypeOf(v) != fd.Base {
				t.Fatalf("%s = %q: converted to %T; want %v", fd.Column, s, v, fd.Base)
			}
			// Rendered back as a client would write it, the value converts
			// to itself.
			text, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s = %q: %#v does not marshal: %v", fd.Column, s, v, err)
			}
			var back string
			if json.Unmarshal(text, &back) != nil {
				back = string(text)
			}
			again, err := fd.Convert(back)
			if err != nil || !sameValue(again, v) {
				t.Fatalf("%s = %q converts to %#v, rendered %q converts to %#v, %v", fd.Column, s, v, back, again, err)
			}
			for _, op := range []Op{Ne, Lt, Gte, In} {
				val := any(s)
				if op == In {
					val = []string{s, s}
				}
				_, err := m.plan(Query{Filters: []Filter{{Field: fd.Column, Op: op, Value: val}}}, false)
				if err != nil {
					wantInvalidQuery(t, fd.Column+"["+string(op)+"] = "+strconv.Quote(s), err)
				}
			}
		}
	})
}

// TestCursorHasOneText pins what writing FuzzCursor's tamper check showed: base64
// decoding ignored the unused low bits of the last character, so a cursor
// with its last character changed from, say, 'A' to 'B' still opened. The
// MAC's 32 bytes always leave two such bits: every cursor had four texts.
func TestCursorHasOneText(t *testing.T) {
	m := fuzzModel(t)
	p, err := m.plan(Query{Limit: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.cursorFor(p, reflect.ValueOf(fuzzRow{ID: 42}))
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, c[len(c)-1])
	opened := 0
	for bits := 1; bits < 4; bits++ {
		other := c[:len(c)-1] + string(alphabet[last^bits])
		if _, err := m.plan(Query{Limit: 1, Cursor: other}, true); err == nil {
			opened++
		}
	}
	if opened != 0 {
		t.Errorf("%d other texts of cursor %s opened; want 0", opened, c)
	}
}
