package crudtest

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
)

// RunStoreTests is the conformance suite of [crud.Store]: every store (the
// SQL repository on each dialect, [MemStore], a store of your own) must pass
// it. newStore returns an empty store of [Fixture] rows configured with
// [FixtureConfig]; it is called once per subtest.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) crud.Store[Fixture]) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s crud.Store[Fixture])
	}{
		{"CreateGet", testCreateGet},
		{"CreateMany", testCreateMany},
		{"UniqueConflict", testUniqueConflict},
		{"Filters", testFilters},
		{"Sort", testSort},
		{"OffsetPages", testOffsetPages},
		{"CursorPages", testCursorPages},
		{"InvalidQuery", testInvalidQuery},
		{"SameProblems", testSameProblems},
		{"Update", testUpdate},
		{"PatchRefused", testPatchRefused},
		{"VersionConflict", testVersionConflict},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"SoftDelete", testSoftDelete},
		{"Delete", testDelete},
		{"CountExists", testCountExists},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func ptr[T any](v T) *T { return &v }

func mustCreate(t *testing.T, s crud.Store[Fixture], f Fixture) Fixture {
	t.Helper()
	if err := s.Create(t.Context(), &f); err != nil {
		t.Fatalf("Create(%q) = %v", f.Slug, err)
	}
	return f
}

// sameRow compares two rows, times by instant.
func sameRow(a, b Fixture) bool {
	eqT := func(x, y *time.Time) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		return x.Equal(*y)
	}
	eqS := func(x, y *string) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		return *x == *y
	}
	return a.ID == b.ID && a.Slug == b.Slug && a.Title == b.Title && a.AuthorID == b.AuthorID &&
		a.Published == b.Published && a.Score == b.Score && eqS(a.Note, b.Note) &&
		eqT(a.PublishedAt, b.PublishedAt) && a.HashedPassword == b.HashedPassword &&
		a.IsSuperuser == b.IsSuperuser && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		eqT(a.DeletedAt, b.DeletedAt) && a.Version == b.Version
}

func ids(items []Fixture) []int64 {
	out := make([]int64, len(items))
	for i, f := range items {
		out[i] = f.ID
	}
	return out
}

func wantKind(t *testing.T, what string, err, kind error, status int) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s = %v; want %v", what, err, kind)
	}
	var hs interface{ HTTPStatus() int }
	if !errors.As(err, &hs) || hs.HTTPStatus() != status {
		t.Fatalf("%s: status of %v is not %d", what, err, status)
	}
}

func testCreateGet(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	f := mustCreate(t, s, Fixture{Slug: "a", Title: "first", AuthorID: 1, Score: 1.5, Note: ptr("n"),
		PublishedAt: ptr(time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC))})
	if f.ID == 0 || f.Version != 1 || f.CreatedAt.Before(before) || !f.UpdatedAt.Equal(f.CreatedAt) {
		t.Fatalf("Create filled %+v; want id, version 1, created_at = updated_at = now", f)
	}
	got, err := s.Get(ctx, f.ID)
	if err != nil || !sameRow(got, f) {
		t.Fatalf("Get(%d) = %+v, %v; want %+v", f.ID, got, err, f)
	}
	if _, err := s.Get(ctx, f.ID+1000); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Get(missing) = %v; want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "not-a-number"); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Get(\"not-a-number\") = %v; want ErrNotFound", err)
	}
	if got, err := s.Get(ctx, fmt.Sprint(f.ID)); err != nil || got.ID != f.ID {
		t.Errorf("Get(%q) = %d, %v; want the row", fmt.Sprint(f.ID), got.ID, err)
	}
}

func testCreateMany(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	items := make([]Fixture, 25)
	for i := range items {
		items[i] = Fixture{Slug: fmt.Sprintf("m%02d", i), Title: "many", AuthorID: int64(i % 3)}
	}
	if err := s.CreateMany(ctx, items); err != nil {
		t.Fatalf("CreateMany = %v", err)
	}
	for i, f := range items {
		if f.ID == 0 || f.Version != 1 || f.CreatedAt.IsZero() || (i > 0 && f.ID <= items[i-1].ID) {
			t.Fatalf("CreateMany item %d = %+v; want increasing ids and managed fields", i, f)
		}
		got, err := s.Get(ctx, f.ID)
		if err != nil || got.Slug != f.Slug {
			t.Fatalf("Get(%d) = %+v, %v; want slug %s", f.ID, got, err, f.Slug)
		}
	}
	dup := []Fixture{{Slug: "x1", Title: "t"}, {Slug: "x2", Title: "t"}, {Slug: "m03", Title: "t"}}
	err := s.CreateMany(ctx, dup)
	wantKind(t, "CreateMany(duplicate slug)", err, crud.ErrConflict, http.StatusConflict)
	if n, _ := s.Count(ctx, crud.Query{}); n != 25 {
		t.Errorf("Count after refused CreateMany = %d; want 25 (all or nothing)", n)
	}
	if err := s.CreateMany(ctx, nil); err != nil {
		t.Errorf("CreateMany(nil) = %v", err)
	}
}

func testUniqueConflict(t *testing.T, s crud.Store[Fixture]) {
	mustCreate(t, s, Fixture{Slug: "same", Title: "one"})
	f := Fixture{Slug: "same", Title: "two"}
	err := s.Create(t.Context(), &f)
	wantKind(t, "Create(duplicate)", err, crud.ErrConflict, http.StatusConflict)
	if strings.Contains(err.(interface{ PublicMessage() string }).PublicMessage(), "INSERT") {
		t.Errorf("public message leaks SQL: %v", err)
	}
}

// seed creates a fixed data set and returns it in id order.
func seed(t *testing.T, s crud.Store[Fixture]) []Fixture {
	t.Helper()
	day := func(d int) *time.Time { return ptr(time.Date(2024, 1, d, 12, 0, 0, 0, time.UTC)) }
	rows := []Fixture{
		{Slug: "s01", Title: "go generics", AuthorID: 1, Published: true, Score: 3, PublishedAt: day(1)},
		{Slug: "s02", Title: "Go Channels", AuthorID: 2, Published: true, Score: 5, PublishedAt: day(2), Note: ptr("x")},
		{Slug: "s03", Title: "rust traits", AuthorID: 1, Score: 3, Note: ptr("y")},
		{Slug: "s04", Title: "50% off_sale", AuthorID: 3, Published: true, Score: 1, PublishedAt: day(3)},
		{Slug: "s05", Title: "500 offers", AuthorID: 3, Score: 1},
		{Slug: "s06", Title: "backslash \\ title", AuthorID: 2, Score: 4, PublishedAt: day(4)},
		{Slug: "s07", Title: "zig comptime", AuthorID: 1, Published: true, Score: 5, PublishedAt: day(5)},
		{Slug: "s08", Title: "ago", AuthorID: 2, Score: 2},
		{Slug: "s09", Title: "mongo", AuthorID: 4, Published: true, Score: 3, PublishedAt: day(6)},
		{Slug: "s10", Title: "golang tips", AuthorID: 4, Score: 2.5, HashedPassword: "secret", IsSuperuser: true},
		{Slug: "s11", Title: "c pointers", AuthorID: 5, Published: true, Score: 4, PublishedAt: day(7)},
		{Slug: "s12", Title: "ada", AuthorID: 5, Score: 0},
	}
	if err := s.CreateMany(t.Context(), rows); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return rows
}

func pick(rows []Fixture, keep func(Fixture) bool) []int64 {
	var out []int64
	for _, r := range rows {
		if keep(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

func parse(t *testing.T, qs string) crud.Query {
	t.Helper()
	v, err := url.ParseQuery(qs)
	if err != nil {
		t.Fatal(err)
	}
	q, err := crud.ParseQuery(v, FixtureSpec())
	if err != nil {
		t.Fatalf("ParseQuery(%q) = %v", qs, err)
	}
	return q
}

func listIDs(t *testing.T, s crud.Store[Fixture], q crud.Query) []int64 {
	t.Helper()
	p, err := s.List(t.Context(), q)
	if err != nil {
		t.Fatalf("List(%+v) = %v", q, err)
	}
	return ids(p.Items)
}

func testFilters(t *testing.T, s crud.Store[Fixture]) {
	rows := seed(t, s)
	jan3 := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		qs   string
		keep func(Fixture) bool
	}{
		{"author_id=1", func(f Fixture) bool { return f.AuthorID == 1 }},
		{"author_id[ne]=1", func(f Fixture) bool { return f.AuthorID != 1 }},
		{"author_id[in]=2,4", func(f Fixture) bool { return f.AuthorID == 2 || f.AuthorID == 4 }},
		{"published=true", func(f Fixture) bool { return f.Published }},
		{"published=false", func(f Fixture) bool { return !f.Published }},
		{"published=yes", func(f Fixture) bool { return f.Published }},
		{"published=OFF", func(f Fixture) bool { return !f.Published }},
		{"score[gt]=3", func(f Fixture) bool { return f.Score > 3 }},
		{"score[gte]=3", func(f Fixture) bool { return f.Score >= 3 }},
		{"score[lt]=2.5", func(f Fixture) bool { return f.Score < 2.5 }},
		{"score[lte]=2.5&author_id=4", func(f Fixture) bool { return f.Score <= 2.5 && f.AuthorID == 4 }},
		{"title=ago", func(f Fixture) bool { return f.Title == "ago" }},
		{"title[contains]=GO", func(f Fixture) bool { return strings.Contains(strings.ToLower(f.Title), "go") }},
		{"title[prefix]=go", func(f Fixture) bool { return strings.HasPrefix(strings.ToLower(f.Title), "go") }},
		{"title[contains]=50%25", func(f Fixture) bool { return strings.Contains(f.Title, "50%") }},
		{"title[contains]=f_s", func(f Fixture) bool { return strings.Contains(f.Title, "f_s") }},
		{"title[contains]=%25", func(f Fixture) bool { return strings.Contains(f.Title, "%") }},
		{"title[contains]=_", func(f Fixture) bool { return strings.Contains(f.Title, "_") }},
		{"title[contains]=%5C", func(f Fixture) bool { return strings.Contains(f.Title, `\`) }},
		{"note[isnull]=true", func(f Fixture) bool { return f.Note == nil }},
		{"note[isnull]=false", func(f Fixture) bool { return f.Note != nil }},
		{"published_at[gte]=2024-01-03T12:00:00Z", func(f Fixture) bool { return f.PublishedAt != nil && !f.PublishedAt.Before(jan3) }},
		{"published_at[lt]=2024-01-03T13:00:00%2B01:00", func(f Fixture) bool { return f.PublishedAt != nil && f.PublishedAt.Before(jan3) }},
		{"published_at[isnull]=true", func(f Fixture) bool { return f.PublishedAt == nil }},
		{"created_at[gte]=2000-01-01T00:00:00Z", func(Fixture) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.qs, func(t *testing.T) {
			q := parse(t, tt.qs+"&limit=100")
			got, want := listIDs(t, s, q), pick(rows, tt.keep)
			if !slices.Equal(got, want) {
				t.Errorf("List(%s) ids = %v; want %v", tt.qs, got, want)
			}
			n, err := s.Count(t.Context(), q)
			if err != nil || n != int64(len(want)) {
				t.Errorf("Count(%s) = %d, %v; want %d", tt.qs, n, err, len(want))
			}
		})
	}
	t.Run("code filters in the boolean grammar", func(t *testing.T) {
		// Text values are parsed by the store with the grammar of
		// internal/boolstr, as ParseQuery and config parse them.
		for in, want := range map[string]bool{"yes": true, "Y": true, "on": true, "t": true, "no": false, "OFF": false, "0": false} {
			q := crud.Query{Limit: 100, Filters: []crud.Filter{{Field: "published", Op: crud.Eq, Value: in}}}
			if got, want := listIDs(t, s, q), pick(rows, func(f Fixture) bool { return f.Published == want }); !slices.Equal(got, want) {
				t.Errorf("List(published = %q) ids = %v; want %v", in, got, want)
			}
		}
	})
	t.Run("code filters", func(t *testing.T) {
		q := crud.Query{Filters: []crud.Filter{{Field: "author_id", Op: crud.In, Value: []int{1, 5}},
			{Field: "score", Op: crud.Gte, Value: 3}}}
		want := pick(rows, func(f Fixture) bool { return (f.AuthorID == 1 || f.AuthorID == 5) && f.Score >= 3 })
		if got := listIDs(t, s, q); !slices.Equal(got, want) {
			t.Errorf("List ids = %v; want %v", got, want)
		}
	})
}

// sorted returns rows ordered by less, ties by id.
func sorted(rows []Fixture, less func(a, b Fixture) int) []int64 {
	c := slices.Clone(rows)
	slices.SortStableFunc(c, func(a, b Fixture) int {
		if r := less(a, b); r != 0 {
			return r
		}
		return int(a.ID - b.ID)
	})
	return ids(c)
}

var sortCases = []struct {
	sort string
	less func(a, b Fixture) int
}{
	{"id", func(a, b Fixture) int { return 0 }},
	{"-id", func(a, b Fixture) int { return int(b.ID - a.ID) }},
	{"score", func(a, b Fixture) int { return cmp.Compare(a.Score, b.Score) }},
	{"-score", func(a, b Fixture) int { return cmp.Compare(b.Score, a.Score) }},
	{"-score,title", func(a, b Fixture) int {
		if r := cmp.Compare(b.Score, a.Score); r != 0 {
			return r
		}
		return strings.Compare(a.Title, b.Title)
	}},
	{"author_id,-title", func(a, b Fixture) int {
		if a.AuthorID != b.AuthorID {
			return int(a.AuthorID - b.AuthorID)
		}
		return strings.Compare(b.Title, a.Title)
	}},
	{"-author_id,-id", func(a, b Fixture) int {
		if a.AuthorID != b.AuthorID {
			return int(b.AuthorID - a.AuthorID)
		}
		return int(b.ID - a.ID)
	}},
}

func testSort(t *testing.T, s crud.Store[Fixture]) {
	rows := seed(t, s)
	for _, tt := range sortCases {
		t.Run(tt.sort, func(t *testing.T) {
			got, want := listIDs(t, s, parse(t, "limit=100&sort="+tt.sort)), sorted(rows, tt.less)
			if !slices.Equal(got, want) {
				t.Errorf("List(sort=%s) = %v; want %v", tt.sort, got, want)
			}
		})
	}
	t.Run("nullable last", func(t *testing.T) {
		for _, desc := range []bool{false, true} {
			sortKey := "published_at"
			if desc {
				sortKey = "-published_at"
			}
			want := sorted(rows, func(a, b Fixture) int {
				switch {
				case a.PublishedAt == nil && b.PublishedAt == nil:
					return 0
				case a.PublishedAt == nil:
					return 1
				case b.PublishedAt == nil:
					return -1
				}
				c := a.PublishedAt.Compare(*b.PublishedAt)
				if desc {
					c = -c
				}
				return c
			})
			p, err := s.List(t.Context(), parse(t, "limit=5&sort="+sortKey))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p.Items); !slices.Equal(got, want[:5]) || !p.HasMore || p.NextCursor != "" {
				t.Errorf("List(sort=%s) = %v more=%v cursor=%q; want %v, more, no cursor", sortKey, got, p.HasMore, p.NextCursor, want[:5])
			}
			if got := listIDs(t, s, parse(t, "limit=100&sort="+sortKey)); !slices.Equal(got, want) {
				t.Errorf("List(sort=%s) = %v; want %v", sortKey, got, want)
			}
		}
	})
}

func testOffsetPages(t *testing.T, s crud.Store[Fixture]) {
	rows := seed(t, s)
	want := sorted(rows, sortCases[4].less) // -score,title
	var got []int64
	for off := 0; off < 15; off += 5 {
		p, err := s.List(t.Context(), parse(t, fmt.Sprintf("sort=-score,title&limit=5&offset=%d&include_total=true", off)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Total == nil || *p.Total != int64(len(rows)) || p.Limit != 5 || p.Offset != off {
			t.Fatalf("page at %d: total=%v limit=%d offset=%d; want %d, 5, %d", off, p.Total, p.Limit, p.Offset, len(rows), off)
		}
		if wantMore := off+5 < len(rows); p.HasMore != wantMore {
			t.Errorf("page at %d: HasMore = %v; want %v", off, p.HasMore, wantMore)
		}
		got = append(got, ids(p.Items)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("offset pages = %v; want %v", got, want)
	}
	p, err := s.List(t.Context(), crud.Query{Limit: 5})
	if err != nil || p.Total != nil || len(p.Items) != 5 {
		t.Errorf("List(no total) = %d items, total %v, %v; want 5 items and no total", len(p.Items), p.Total, err)
	}
	p, err = s.List(t.Context(), crud.Query{Offset: 100})
	if err != nil || p.Items == nil || len(p.Items) != 0 || p.HasMore {
		t.Errorf("List(past the end) = %+v, %v; want an empty non-nil page", p, err)
	}
	if p, _ := s.List(t.Context(), crud.Query{}); p.Limit != 20 {
		t.Errorf("default limit = %d; want 20", p.Limit)
	}
}

func testCursorPages(t *testing.T, s crud.Store[Fixture]) {
	rows := seed(t, s)
	ctx := t.Context()
	for _, tt := range sortCases {
		for _, size := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/%d", tt.sort, size), func(t *testing.T) {
				want := sorted(rows, tt.less)
				q := parse(t, fmt.Sprintf("sort=%s&limit=%d", tt.sort, size))
				var got []int64
				for range len(rows) + 2 {
					p, err := s.List(ctx, q)
					if err != nil {
						t.Fatalf("List(%+v) = %v", q, err)
					}
					got = append(got, ids(p.Items)...)
					if p.HasMore != (p.NextCursor != "") {
						t.Fatalf("HasMore %v with cursor %q", p.HasMore, p.NextCursor)
					}
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("cursor pages = %v; want %v", got, want)
				}
			})
		}
	}
	t.Run("continues after inserts", func(t *testing.T) {
		p, err := s.List(ctx, parse(t, "sort=-score&limit=3"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, Fixture{Slug: "top", Title: "top", Score: 99}) // sorts before the cursor
		q := parse(t, "sort=-score&limit=100")
		q.Cursor = p.NextCursor
		rest := listIDs(t, s, q)
		if want := sorted(rows, sortCases[3].less)[3:]; !slices.Equal(rest, want) {
			t.Errorf("after cursor = %v; want %v", rest, want)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		p, err := s.List(ctx, parse(t, "sort=-score&limit=3"))
		if err != nil {
			t.Fatal(err)
		}
		c := p.NextCursor
		flip := func(s string, i int) string {
			b := []byte(s)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		bad := []string{flip(c, 0), flip(c, len(c)/2), flip(c, len(c)-1), c[:len(c)-2], c + "A", "garbage", "a.b", strings.Repeat("x", 3000)}
		for _, cur := range bad {
			q := parse(t, "sort=-score&limit=3")
			q.Cursor = cur
			_, err := s.List(ctx, q)
			wantKind(t, "List(tampered cursor)", err, crud.ErrInvalidQuery, http.StatusBadRequest)
		}
		q := parse(t, "sort=score&limit=3")
		q.Cursor = c
		_, err = s.List(ctx, q)
		wantKind(t, "List(cursor of another sort)", err, crud.ErrInvalidQuery, http.StatusBadRequest)
		q = crud.Query{Sort: []crud.Sort{{Field: "score", Desc: true}}, Cursor: c, Offset: 3}
		_, err = s.List(ctx, q)
		wantKind(t, "List(cursor and offset)", err, crud.ErrInvalidQuery, http.StatusBadRequest)
	})
}

func testInvalidQuery(t *testing.T, s crud.Store[Fixture]) {
	seed(t, s)
	bad := map[string]crud.Query{
		"unknown filter":      {Filters: []crud.Filter{{Field: "nope", Op: crud.Eq, Value: 1}}},
		"bad op":              {Filters: []crud.Filter{{Field: "published", Op: crud.Gt, Value: true}}},
		"unknown op":          {Filters: []crud.Filter{{Field: "score", Op: "regex", Value: 1}}},
		"bad value":           {Filters: []crud.Filter{{Field: "author_id", Op: crud.Eq, Value: "abc"}}},
		"null value":          {Filters: []crud.Filter{{Field: "author_id", Op: crud.Eq}}},
		"contains on int":     {Filters: []crud.Filter{{Field: "author_id", Op: crud.Contains, Value: "1"}}},
		"empty in":            {Filters: []crud.Filter{{Field: "author_id", Op: crud.In, Value: []int64{}}}},
		"limit too big":       {Limit: 101},
		"negative limit":      {Limit: -1},
		"negative offset":     {Offset: -5},
		"unknown sort":        {Sort: []crud.Sort{{Field: "id;drop table x"}}},
		"repeated sort":       {Sort: []crud.Sort{{Field: "score"}, {Field: "score", Desc: true}}},
		"cursor on nullable":  {Sort: []crud.Sort{{Field: "published_at"}}, Cursor: "x.y"},
		"unknown deleted arg": {Deleted: 9},
	}
	for name, q := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := s.List(t.Context(), q)
			wantKind(t, "List", err, crud.ErrInvalidQuery, http.StatusBadRequest)
		})
	}
	_, err := s.Count(t.Context(), bad["unknown filter"])
	wantKind(t, "Count(unknown filter)", err, crud.ErrInvalidQuery, http.StatusBadRequest)
}

// testSameProblems checks the details of refused queries and patches word
// for word: every store converts and checks values with crud's own engine,
// so a client sees the same reasons whichever store answers.
func testSameProblems(t *testing.T, s crud.Store[Fixture]) {
	row := mustCreate(t, s, Fixture{Slug: "p", Title: "p", AuthorID: 1})
	tests := []struct {
		name string
		q    *crud.Query
		p    *crud.Patch
		want []crud.Problem
	}{
		{name: "not an integer", q: &crud.Query{Filters: []crud.Filter{{Field: "author_id", Op: crud.Eq, Value: "abc"}}},
			want: []crud.Problem{{Field: "author_id", Reason: "must be an integer"}}},
		{name: "not a boolean", q: &crud.Query{Filters: []crud.Filter{{Field: "published", Op: crud.Eq, Value: "maybe"}}},
			want: []crud.Problem{{Field: "published", Reason: "must be true or false"}}},
		{name: "year beyond 9999", q: &crud.Query{Filters: []crud.Filter{{Field: "published_at", Op: crud.Gte, Value: "10000-01-01T00:00:00Z"}}},
			want: []crud.Problem{{Field: "published_at", Reason: "must be an RFC 3339 time"}}},
		{name: "contains on an integer", q: &crud.Query{Filters: []crud.Filter{{Field: "author_id", Op: crud.Contains, Value: "1"}}},
			want: []crud.Problem{{Field: "author_id", Reason: "operator contains needs a non-empty text value on a text field"}}},
		{name: "limits and sort", q: &crud.Query{Limit: 101, Offset: -1, Sort: []crud.Sort{{Field: "nope"}}},
			want: []crud.Problem{{Field: "limit", Reason: "must be an integer from 1 to 100"}, {Field: "offset", Reason: "must not be negative"},
				{Field: "sort", Reason: "unknown sort field"}}},
		{name: "tampered cursor", q: &crud.Query{Cursor: "e30.AAAA"},
			want: []crud.Problem{{Field: "cursor", Reason: "invalid or tampered cursor"}}},
		{name: "patch values", p: &crud.Patch{Set: map[string]any{"score": "x", "published": "perhaps", "author_id": 1.5}},
			want: []crud.Problem{{Field: "author_id", Reason: "must be an integer"}, {Field: "published", Reason: "must be true or false"},
				{Field: "score", Reason: "must be a finite number"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.q != nil {
				_, err = s.List(t.Context(), *tt.q)
			} else {
				_, err = s.Update(t.Context(), row.ID, *tt.p)
			}
			if got := crud.Problems(err); !slices.Equal(got, tt.want) {
				t.Errorf("problems = %+v (%v); want %+v", got, err, tt.want)
			}
		})
	}
}

func testUpdate(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	f := mustCreate(t, s, Fixture{Slug: "u", Title: "old", AuthorID: 1, Note: ptr("keep"), Score: 1})
	time.Sleep(2 * time.Millisecond)
	p, err := crud.ParsePatch([]byte(`{"title":"new","score":2.5,"published":true,"published_at":"2024-05-06T07:08:09Z"}`), FixtureWritable()...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Update(ctx, f.ID, p)
	if err != nil {
		t.Fatalf("Update = %v", err)
	}
	if got.Title != "new" || got.Score != 2.5 || !got.Published || got.PublishedAt == nil ||
		!got.PublishedAt.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) ||
		got.Note == nil || *got.Note != "keep" || got.AuthorID != 1 || got.Version != 2 ||
		!got.UpdatedAt.After(f.UpdatedAt) || !got.CreatedAt.Equal(f.CreatedAt) {
		t.Fatalf("Update returned %+v", got)
	}
	if again, _ := s.Get(ctx, f.ID); !sameRow(again, got) {
		t.Errorf("Get after Update = %+v; want %+v", again, got)
	}
	// null differs from absent
	got, err = s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"note": nil}})
	if err != nil || got.Note != nil || got.Title != "new" || got.Version != 3 {
		t.Errorf("Update(note: null) = %+v, %v; want note NULL, title kept, version 3", got, err)
	}
	got, err = s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"author_id": 7, "note": "typed"}})
	if err != nil || got.AuthorID != 7 || got.Note == nil || *got.Note != "typed" {
		t.Errorf("Update(Go values) = %+v, %v", got, err)
	}
	if _, err := s.Update(ctx, f.ID+1000, crud.Patch{Set: map[string]any{"title": "x"}}); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Update(missing) = %v; want ErrNotFound", err)
	}
	mustCreate(t, s, Fixture{Slug: "taken", Title: "other"})
	_, err = s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"slug": "taken"}})
	wantKind(t, "Update(duplicate slug)", err, crud.ErrConflict, http.StatusConflict)
}

func testPatchRefused(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	f := mustCreate(t, s, Fixture{Slug: "p", Title: "orig", AuthorID: 1, HashedPassword: "h", IsSuperuser: false})
	bodies := []string{
		`{"title":"x","id":99}`,
		`{"title":"x","ID":99}`,
		`{"title":"x","is_superuser":true}`,
		`{"title":"x","Is_Superuser":true}`,
		`{"title":"x","IS_SUPERUSER":true}`,
		`{"title":"x","hashed_password":"p"}`,
		`{"title":"x","Hashed_Password":"p"}`,
		`{"title":"x","title":"y"}`,
		`{"title":"x","created_at":"2020-01-01T00:00:00Z"}`,
		`{"title":"x","version":1}`,
		`{"title":"x","deleted_at":null}`,
		`{"title":"x"} {"title":"y"}`,
		`[{"title":"x"}]`,
		`{}`,
		`{"title":`,
	}
	for _, b := range bodies {
		if _, err := crud.ParsePatch([]byte(b), FixtureWritable()...); err == nil {
			t.Errorf("ParsePatch(%s) accepted", b)
		} else {
			wantKind(t, "ParsePatch("+b+")", err, crud.ErrInvalidPatch, http.StatusUnprocessableEntity)
		}
	}
	// Patches built in code are checked by the store too.
	patches := []map[string]any{
		{"title": "x", "id": 99},
		{"title": "x", "is_superuser": true},
		{"title": "x", "hashed_password": "p"},
		{"title": "x", "version": 9},
		{"title": "x", "created_at": time.Now()},
		{"title": "x", "updated_at": time.Now()},
		{"title": "x", "deleted_at": nil},
		{"title": "x", "nope": 1},
		{"title": nil},
		{"title": "x", "author_id": "abc"},
		{"title": "x", "score": "high"},
		{},
	}
	for _, set := range patches {
		_, err := s.Update(ctx, f.ID, crud.Patch{Set: set})
		wantKind(t, fmt.Sprintf("Update(%v)", set), err, crud.ErrInvalidPatch, http.StatusUnprocessableEntity)
	}
	p, _ := crud.ParsePatch([]byte(`{"title":"x","score":"high"}`), FixtureWritable()...)
	_, err := s.Update(ctx, f.ID, p)
	wantKind(t, "Update(score: \"high\")", err, crud.ErrInvalidPatch, http.StatusUnprocessableEntity)
	got, err := s.Get(ctx, f.ID)
	if err != nil || !sameRow(got, f) {
		t.Errorf("row after refused patches = %+v, %v; want unchanged %+v", got, err, f)
	}
}

func testVersionConflict(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	f := mustCreate(t, s, Fixture{Slug: "v", Title: "v1"})
	got, err := s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"title": "v2"}, Version: 1})
	if err != nil || got.Version != 2 {
		t.Fatalf("Update(version 1) = %+v, %v", got, err)
	}
	_, err = s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"title": "stale"}, Version: 1})
	wantKind(t, "Update(stale version)", err, crud.ErrConflict, http.StatusConflict)
	if got, _ := s.Get(ctx, f.ID); got.Title != "v2" || got.Version != 2 {
		t.Errorf("row after stale update = %+v; want v2 at version 2", got)
	}
	if _, err := s.Update(ctx, f.ID+1000, crud.Patch{Set: map[string]any{"title": "x"}, Version: 1}); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Update(missing, version) = %v; want ErrNotFound", err)
	}
}

func testConcurrentUpdates(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	for round := range 5 {
		f := mustCreate(t, s, Fixture{Slug: fmt.Sprintf("c%d", round), Title: "c"})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Update(ctx, f.ID, crud.Patch{Set: map[string]any{"title": fmt.Sprint("writer", i)}, Version: 1})
			})
		}
		close(start)
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, crud.ErrConflict):
				conflict++
			default:
				t.Fatalf("concurrent Update = %v", err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("two updates at one version: %d ok, %d conflicts; want 1 and 1", ok, conflict)
		}
		if got, _ := s.Get(ctx, f.ID); got.Version != 2 {
			t.Errorf("version after race = %d; want 2", got.Version)
		}
	}
}

func testSoftDelete(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	a := mustCreate(t, s, Fixture{Slug: "a", Title: "a"})
	b := mustCreate(t, s, Fixture{Slug: "b", Title: "b"})
	if err := s.SoftDelete(ctx, a.ID); err != nil {
		t.Fatalf("SoftDelete = %v", err)
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Get(soft-deleted) = %v; want ErrNotFound", err)
	}
	if ok, err := s.Exists(ctx, a.ID); ok || err != nil {
		t.Errorf("Exists(soft-deleted) = %v, %v; want false", ok, err)
	}
	check := func(d crud.Deleted, want ...int64) {
		t.Helper()
		q := crud.Query{Deleted: d}
		if got := listIDs(t, s, q); !slices.Equal(got, want) {
			t.Errorf("List(deleted=%d) = %v; want %v", d, got, want)
		}
		if n, err := s.Count(ctx, q); err != nil || n != int64(len(want)) {
			t.Errorf("Count(deleted=%d) = %d, %v; want %d", d, n, err, len(want))
		}
	}
	check(crud.ExcludeDeleted, b.ID)
	check(crud.WithDeleted, a.ID, b.ID)
	check(crud.OnlyDeleted, a.ID)
	p, err := s.List(ctx, parse(t, "deleted=only"))
	if err != nil || len(p.Items) != 1 || p.Items[0].DeletedAt == nil || p.Items[0].Version != 2 {
		t.Errorf("deleted=only = %+v, %v; want a with deleted_at and version 2", p.Items, err)
	}
	if _, err := s.Update(ctx, a.ID, crud.Patch{Set: map[string]any{"title": "x"}}); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Update(soft-deleted) = %v; want ErrNotFound", err)
	}
	if err := s.SoftDelete(ctx, a.ID); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("SoftDelete twice = %v; want ErrNotFound", err)
	}
	if err := s.Restore(ctx, b.ID); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("Restore(live) = %v; want ErrNotFound", err)
	}
	// the unique slug stays taken while soft-deleted
	dup := Fixture{Slug: "a", Title: "again"}
	wantKind(t, "Create(slug of soft-deleted)", s.Create(ctx, &dup), crud.ErrConflict, http.StatusConflict)
	if err := s.Restore(ctx, a.ID); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || got.DeletedAt != nil || got.Version != 3 {
		t.Errorf("Get(restored) = %+v, %v; want live at version 3", got, err)
	}
	check(crud.OnlyDeleted)
	if err := s.SoftDelete(ctx, a.ID+1000); !errors.Is(err, crud.ErrNotFound) {
		t.Errorf("SoftDelete(missing) = %v; want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	a := mustCreate(t, s, Fixture{Slug: "a", Title: "a"})
	b := mustCreate(t, s, Fixture{Slug: "b", Title: "b"})
	if err := s.SoftDelete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete(%d) = %v", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, crud.ErrNotFound) {
			t.Errorf("Delete(%d) twice = %v; want ErrNotFound", id, err)
		}
	}
	if n, _ := s.Count(ctx, crud.Query{Deleted: crud.WithDeleted}); n != 0 {
		t.Errorf("Count after hard deletes = %d; want 0", n)
	}
	again := mustCreate(t, s, Fixture{Slug: "a", Title: "a"}) // the slug is free again
	if again.ID == a.ID {
		t.Errorf("id %d reused", a.ID)
	}
}

func testCountExists(t *testing.T, s crud.Store[Fixture]) {
	ctx := t.Context()
	rows := seed(t, s)
	if ok, err := s.Exists(ctx, rows[0].ID); !ok || err != nil {
		t.Errorf("Exists(%d) = %v, %v; want true", rows[0].ID, ok, err)
	}
	if ok, err := s.Exists(ctx, int64(-1)); ok || err != nil {
		t.Errorf("Exists(-1) = %v, %v; want false", ok, err)
	}
	if ok, err := s.Exists(ctx, "x"); ok || err != nil {
		t.Errorf("Exists(\"x\") = %v, %v; want false", ok, err)
	}
	q := crud.Query{Filters: []crud.Filter{{Field: "published", Op: crud.Eq, Value: true}}}
	want := len(pick(rows, func(f Fixture) bool { return f.Published }))
	if n, err := s.Count(ctx, q); err != nil || n != int64(want) {
		t.Errorf("Count(published) = %d, %v; want %d", n, err, want)
	}
	if n, err := s.Count(ctx, crud.Query{}); err != nil || n != int64(len(rows)) {
		t.Errorf("Count() = %d, %v; want %d", n, err, len(rows))
	}
}
