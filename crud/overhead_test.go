package crud

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type benchPost struct {
	ID        int64      `db:"id"`
	AuthorID  int64      `db:"author_id"`
	Title     string     `db:"title"`
	Body      string     `db:"body"`
	Published bool       `db:"published"`
	CreatedAt time.Time  `db:"created_at"`
	UpdatedAt time.Time  `db:"updated_at"`
	DeletedAt *time.Time `db:"deleted_at"`
	Version   int64      `db:"version"`
}

// BenchmarkListOverhead measures what List adds to the database round trip:
// validating the query, building the SQL and signing the next cursor.
func BenchmarkListOverhead(b *testing.B) {
	m, err := newModel(reflect.TypeFor[benchPost](), "pgx", Config{Table: "posts", CursorKey: []byte("k")})
	if err != nil {
		b.Fatal(err)
	}
	row := benchPost{ID: 12345, AuthorID: 7, CreatedAt: time.Now()}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := Query{
			Filters: []Filter{{Field: "author_id", Op: Eq, Value: int64(i)}},
			Sort:    []Sort{{Field: "id", Desc: true}},
			Limit:   20,
		}
		p, err := m.plan(q, true)
		if err != nil {
			b.Fatal(err)
		}
		s := &sqlBuilder{d: m.d}
		s.b.Grow(256)
		s.str("SELECT ", m.cols, " FROM ", m.table)
		m.where(s, p, true)
		if _, err := m.cursorFor(p, reflect.ValueOf(&row).Elem()); err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(s.b.String(), "author_id") {
			b.Fatal("bad sql")
		}
	}
}
