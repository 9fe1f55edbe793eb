package crud_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
)

// The fuzz targets of this file feed query strings, sort keys and patch
// bodies, as a client sends them, to the parsers and then to both stores.
// Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseQuery$' -fuzztime 30s ./crud/
//
// A failure found is written under testdata/fuzz/FuzzXxx; commit it.

// wantClientError fails unless err is a *crud.Error of kind with a 4xx
// status and at least one detail: what the server's error handler renders
// as 4xx, never as 500.
func wantClientError(tb testing.TB, what string, err, kind error) {
	tb.Helper()
	var ce *crud.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("%s: error %v (%T) is not a *crud.Error; it would render as 500", what, err, err)
	}
	if st := ce.HTTPStatus(); st < 400 || st > 499 {
		tb.Fatalf("%s: status %d; want 4xx (%v)", what, st, err)
	}
	if !errors.Is(err, kind) {
		tb.Fatalf("%s: error %v is not %v", what, err, kind)
	}
	if len(ce.Problems()) == 0 {
		tb.Fatalf("%s: error %v has no details", what, err)
	}
	for _, p := range ce.Problems() {
		if p.Field == "" || p.Reason == "" || len(p.Field) > 70 {
			tb.Fatalf("%s: detail %+v: empty or unbounded", what, p)
		}
	}
}

// fuzzSpec is the fixture spec with a default sort, so both paths of the
// sort are exercised.
func fuzzSpec() crud.QuerySpec {
	s := crudtest.FixtureSpec()
	s.Ignore = []string{"q"}
	return s
}

// checkAllowed fails unless every part of q is allowed by spec.
func checkAllowed(tb testing.TB, q crud.Query, spec crud.QuerySpec) {
	tb.Helper()
	for _, f := range q.Filters {
		fs, ok := spec.Filters[f.Field]
		if !ok {
			tb.Fatalf("filter on %q, which is not allow-listed", f.Field)
		}
		ops := fs.Ops
		if len(ops) == 0 {
			ops = []crud.Op{crud.Eq}
		}
		if !slices.Contains(ops, f.Op) {
			tb.Fatalf("filter %s[%s]: operator not allowed", f.Field, f.Op)
		}
		switch f.Op {
		case crud.IsNull:
			if _, ok := f.Value.(bool); !ok {
				tb.Fatalf("filter %s[isnull] = %#v; want a bool", f.Field, f.Value)
			}
		case crud.In:
			list, ok := f.Value.([]any)
			if !ok || len(list) == 0 || len(list) > 100 {
				tb.Fatalf("filter %s[in] = %#v; want 1 to 100 values", f.Field, f.Value)
			}
			for _, v := range list {
				checkValue(tb, f.Field, fs.Type, v)
			}
		default:
			checkValue(tb, f.Field, fs.Type, f.Value)
		}
	}
	if len(q.Sort) > 3 {
		tb.Fatalf("%d sort keys; want at most 3", len(q.Sort))
	}
	for _, s := range q.Sort {
		if s.Field != "id" && !slices.Contains(spec.Sort, s.Field) {
			tb.Fatalf("sort by %q, which is not allow-listed", s.Field)
		}
	}
	if q.Limit < 1 || q.Limit > 100 || q.Offset < 0 || q.Offset > 10000 || q.Deleted > crud.OnlyDeleted {
		tb.Fatalf("limit %d offset %d deleted %d out of bounds", q.Limit, q.Offset, q.Deleted)
	}
	if q.Cursor != "" && q.Offset != 0 {
		tb.Fatalf("cursor together with offset %d", q.Offset)
	}
}

func checkValue(tb testing.TB, field string, t crud.ValueType, v any) {
	tb.Helper()
	ok := false
	switch t {
	case crud.Int:
		_, ok = v.(int64)
	case crud.Float:
		var x float64
		x, ok = v.(float64)
		ok = ok && !math.IsNaN(x) && !math.IsInf(x, 0)
	case crud.Bool:
		_, ok = v.(bool)
	case crud.Time:
		var tm time.Time
		tm, ok = v.(time.Time)
		ok = ok && tm.Location() == time.UTC
	default:
		_, ok = v.(string)
	}
	if !ok {
		tb.Fatalf("filter %s = %#v: not a value of its type", field, v)
	}
}

// render writes q back as a query string: the inverse of ParseQuery.
func render(q crud.Query) url.Values {
	out := url.Values{}
	one := func(v any) string {
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		case time.Time:
			return x.Format(time.RFC3339Nano)
		}
		return v.(string)
	}
	for _, f := range q.Filters {
		key := f.Field
		if f.Op != crud.Eq {
			key += "[" + string(f.Op) + "]"
		}
		if list, ok := f.Value.([]any); ok {
			parts := make([]string, len(list))
			for i, v := range list {
				parts[i] = one(v)
			}
			out.Set(key, strings.Join(parts, ","))
			continue
		}
		out.Set(key, one(f.Value))
	}
	if len(q.Sort) > 0 {
		keys := make([]string, len(q.Sort))
		for i, s := range q.Sort {
			keys[i] = s.String()
		}
		out.Set("sort", strings.Join(keys, ","))
	}
	out.Set("limit", strconv.Itoa(q.Limit))
	if q.Offset != 0 {
		out.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Cursor != "" {
		out.Set("cursor", q.Cursor)
	}
	if q.IncludeTotal {
		out.Set("include_total", "true")
	}
	switch q.Deleted {
	case crud.WithDeleted:
		out.Set("deleted", "include")
	case crud.OnlyDeleted:
		out.Set("deleted", "only")
	}
	return out
}

// FuzzParseQuery parses a client's query string. A refused one is a 400
// *crud.Error with details; an accepted one names only allow-listed fields
// and operators with values of their type, renders back to the same Query,
// and both stores (SQLite and the in-memory fake) agree on whether to list
// it, refusing it only with a 4xx *crud.Error.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"",
		"author_id=3",
		"author_id[in]=1,2,3&sort=-title,id&limit=5",
		"author_id[ne]=-7&published=1&include_total=true",
		"published_at[gte]=2024-01-01T00:00:00Z&published_at[isnull]=false",
		"created_at[lt]=2024-02-29T23:59:59.999999999%2B14:00",
		"title[contains]=g%25o_&title[prefix]=A",
		"score[gt]=1.5&score[lte]=1e300&sort=score",
		"cursor=eyJzIjoiaWQiLCJ2IjpbMV19.AAAA&sort=id",
		"offset=10000&limit=100&deleted=only",
		"offset=1&cursor=x",
		"sort=--title",
		"sort=title,title",
		"sort=-,id",
		"note[isnull]=1",
		"hashed_password=x&is_superuser=true",
		"is_superuser[eq]=true",
		"title=a&title=b",
		"%zz=1&author_id=2",
		"author_id[]=1",
		"a[b]c]=1",
		"author_id[in]=" + strings.Repeat("1,", 101) + "1",
		"score[gt]=NaN",
		"score[lt]=-Inf",
		"q=anything&limit=0",
		"limit=+5&offset=-0",
	} {
		f.Add(s)
	}
	spec := fuzzSpec()
	repo := fixtureRepo(f, fixtureDB(f, crud.SQLite))
	mem, err := crudtest.NewMemStore[crudtest.Fixture](crudtest.MemConfig{Config: crudtest.FixtureConfig()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, _ := url.ParseQuery(raw) // as echo's QueryParams: bad pairs dropped
		q, err := crud.ParseQuery(vals, spec)
		if err != nil {
			wantClientError(t, "ParseQuery("+raw+")", err, crud.ErrInvalidQuery)
			return
		}
		checkAllowed(t, q, spec)
		again, err := crud.ParseQuery(render(q), spec)
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("ParseQuery(render(%+v)) = %+v, %v; want the same query", q, again, err)
		}
		_, rerr := repo.List(t.Context(), q)
		_, merr := mem.List(t.Context(), q)
		for _, e := range []error{rerr, merr} {
			if e != nil {
				wantClientError(t, "List", e, crud.ErrInvalidQuery)
			}
		}
		if (rerr == nil) != (merr == nil) {
			t.Fatalf("List(%+v): Repository %v, MemStore %v; want the same answer", q, rerr, merr)
		}
		if _, err := repo.Count(t.Context(), q); err != nil {
			t.Fatalf("Repository.Count(%+v) = %v; the filters were accepted", q, err)
		}
	})
}

// FuzzParseSort parses sort keys without an allow-list: a refused one is
// a 400 *crud.Error; an accepted one has no empty or repeated key and
// renders back to itself.
func FuzzParseSort(f *testing.F) {
	for _, s := range []string{"", "id", "-created_at,id", "-", ",", "a,,b", "a,-a", "--a", "a,b,c,d", "é,-ü", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := crud.ParseSort(s)
		if err != nil {
			wantClientError(t, "ParseSort("+s+")", err, crud.ErrInvalidQuery)
			return
		}
		seen := map[string]bool{}
		parts := make([]string, len(keys))
		for i, k := range keys {
			if k.Field == "" || seen[k.Field] {
				t.Fatalf("ParseSort(%q) = %v: empty or repeated key", s, keys)
			}
			seen[k.Field] = true
			parts[i] = k.String()
		}
		if r := strings.Join(parts, ","); r != s {
			t.Fatalf("ParseSort(%q) renders as %q", s, r)
		}
	})
}

// FuzzParsePatch reads a client's update body: a refused one is a 422
// *crud.Error with details; an accepted one sets only allowed columns, to
// JSON null or one valid JSON value each, and the store refuses a bad
// value with a 4xx *crud.Error.
func FuzzParsePatch(f *testing.F) {
	for _, s := range []string{
		`{"title":"x"}`,
		`{"title":"x","title":"y"}`,
		`{"note":null,"score":1.5,"published":true,"author_id":2}`,
		`{"published_at":"2024-01-01T00:00:00Z"}`,
		`{"is_superuser":true}`,
		`{"ID":1}`,
		`{}`,
		`[]`,
		`{"title":"x"}{}`,
		`{"title":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"title":"\ud800"}`,
		`{"author_id":1e400}`,
		`{"score":"NaN"}`,
		``,
	} {
		f.Add([]byte(s))
	}
	allowed := crudtest.FixtureWritable()
	mem, err := crudtest.NewMemStore[crudtest.Fixture](crudtest.MemConfig{Config: crudtest.FixtureConfig()})
	if err != nil {
		f.Fatal(err)
	}
	row := crudtest.Fixture{Slug: "s", Title: "t"}
	if err := mem.Create(f.Context(), &row); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := crud.ParsePatch(body, allowed...)
		if err != nil {
			wantClientError(t, "ParsePatch", err, crud.ErrInvalidPatch)
			return
		}
		if len(p.Set) == 0 {
			t.Fatalf("ParsePatch(%q) accepted an empty patch", body)
		}
		for k, v := range p.Set {
			if !slices.Contains(allowed, k) {
				t.Fatalf("ParsePatch(%q) sets %q, which is not allowed", body, k)
			}
			if v == nil {
				continue
			}
			raw, ok := v.(json.RawMessage)
			if !ok || !json.Valid(raw) {
				t.Fatalf("ParsePatch(%q)[%q] = %#v; want valid JSON", body, k, v)
			}
		}
		if _, err := mem.Update(t.Context(), row.ID, p); err != nil {
			var ce *crud.Error
			if !errors.As(err, &ce) || ce.HTTPStatus() < 400 || ce.HTTPStatus() > 499 {
				t.Fatalf("Update(%q) = %v; want success or a 4xx *crud.Error", body, err)
			}
		}
	})
}

// TestTextMustBeUTF8 is what FuzzFilterValue found: a filter value that is
// not UTF-8 (?title=%FF with an Auto field, or a Query built in code)
// reached PostgreSQL, which refused it with an error rendered as 500.
func TestTextMustBeUTF8(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			repo := fixtureRepo(t, fixtureDB(t, d))
			for _, op := range []crud.Op{crud.Eq, crud.Contains, crud.In} {
				v := any("caf\xe9")
				if op == crud.In {
					v = []string{"ok", "caf\xe9"}
				}
				_, err := repo.List(t.Context(), crud.Query{Filters: []crud.Filter{{Field: "title", Op: op, Value: v}}})
				wantClientError(t, "List(title["+string(op)+"] not UTF-8)", err, crud.ErrInvalidQuery)
			}
			spec := crud.QuerySpec{Filters: map[string]crud.FilterSpec{"title": {}}} // Auto: the store parses
			q, err := crud.ParseQuery(url.Values{"title": {"\xff"}}, spec)
			if err == nil {
				_, err = repo.List(t.Context(), q)
			}
			wantClientError(t, "?title=%FF", err, crud.ErrInvalidQuery)
		})
	}
}

// TestCursorNonFiniteFloats is what FuzzCursor found: a page whose last row
// has a NaN or infinite sort key (PostgreSQL stores them) had no cursor to
// sign, and List failed with an error rendered as 500. Every row is now
// visited once, page by page.
func TestCursorNonFiniteFloats(t *testing.T) {
	mem, err := crudtest.NewMemStore[crudtest.Fixture](crudtest.MemConfig{Config: crudtest.FixtureConfig()})
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]crud.Store[crudtest.Fixture]{
		"postgres": fixtureRepo(t, fixtureDB(t, crud.Postgres)),
		"memory":   mem,
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			scores := []float64{math.Inf(-1), -1, 0, 2.5, math.Inf(1), math.NaN()}
			for i, x := range scores {
				row := crudtest.Fixture{Slug: "s" + strconv.Itoa(i), Title: "t", Score: x}
				if err := s.Create(t.Context(), &row); err != nil {
					t.Fatal(err)
				}
			}
			for _, desc := range []bool{false, true} {
				q := crud.Query{Sort: []crud.Sort{{Field: "score", Desc: desc}}, Limit: 1}
				seen := 0
				for range 2 * len(scores) {
					page, err := s.List(t.Context(), q)
					if err != nil {
						t.Fatalf("List after %d rows (desc %v): %v", seen, desc, err)
					}
					seen += len(page.Items)
					if !page.HasMore {
						break
					}
					q.Cursor = page.NextCursor
				}
				if seen != len(scores) {
					t.Errorf("paging by score (desc %v) visited %d rows; want %d", desc, seen, len(scores))
				}
			}
		})
	}
}
