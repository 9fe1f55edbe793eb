package crud_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
)

var testSpec = crud.QuerySpec{
	Filters: map[string]crud.FilterSpec{
		"author_id":  {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.In}},
		"published":  {Type: crud.Bool},
		"created_at": {Type: crud.Time, Ops: []crud.Op{crud.Gte, crud.Lt}},
		"title":      {Type: crud.String, Ops: []crud.Op{crud.Contains, crud.Prefix}},
		"note":       {Ops: []crud.Op{crud.IsNull, crud.Eq}},
	},
	Sort:         []string{"created_at", "title"},
	DefaultSort:  "-created_at",
	AllowDeleted: true,
	Ignore:       []string{"q"},
}

func TestParseQuery(t *testing.T) {
	jan1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     crud.Query
	}{
		{name: "defaults", in: "", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "created_at", Desc: true}}}},
		{name: "eq int", in: "author_id=3&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "author_id", Op: crud.Eq, Value: int64(3)}}}},
		{name: "bool", in: "published=true&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "published", Op: crud.Eq, Value: true}}}},
		// One boolean grammar (internal/boolstr) for filters, config and
		// typed-route parameters: yes/no, on/off, y/n, t/f, 1/0, any case.
		{name: "bool yes", in: "published=yes&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "published", Op: crud.Eq, Value: true}}}},
		{name: "bool OFF and isnull Y", in: "published=OFF&note[isnull]=Y&include_total=on&sort=id", want: crud.Query{Limit: 20, IncludeTotal: true, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "note", Op: crud.IsNull, Value: true}, {Field: "published", Op: crud.Eq, Value: false}}}},
		{name: "time op", in: "created_at[gte]=2024-01-01T09:00:00%2B09:00&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "created_at", Op: crud.Gte, Value: jan1}}}},
		{name: "in", in: "author_id[in]=1,2&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "author_id", Op: crud.In, Value: []any{int64(1), int64(2)}}}}},
		{name: "contains and auto", in: "title[contains]=go&note=x&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "note", Op: crud.Eq, Value: "x"}, {Field: "title", Op: crud.Contains, Value: "go"}}}},
		{name: "isnull", in: "note[isnull]=false&sort=id", want: crud.Query{Limit: 20, Sort: []crud.Sort{{Field: "id"}},
			Filters: []crud.Filter{{Field: "note", Op: crud.IsNull, Value: false}}}},
		{name: "sort and pages", in: "sort=-created_at,title,id&limit=100&offset=10000&include_total=true&deleted=only&q=free",
			want: crud.Query{Limit: 100, Offset: 10000, IncludeTotal: true, Deleted: crud.OnlyDeleted,
				Sort: []crud.Sort{{Field: "created_at", Desc: true}, {Field: "title"}, {Field: "id"}}}},
		{name: "cursor", in: "cursor=abc.def", want: crud.Query{Limit: 20, Cursor: "abc.def", Sort: []crud.Sort{{Field: "created_at", Desc: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.in)
			got, err := crud.ParseQuery(v, testSpec)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseQueryRefuses(t *testing.T) {
	tests := []struct{ in, field string }{
		{"sort=id%3Bdrop%20table%20x", "sort"},
		{"sort=%28select%20pg_sleep%285%29%29", "sort"},
		{"sort=(select pg_sleep(5))", "sort"},
		{"sort=hashed_password", "sort"},
		{"sort=-", "sort"},
		{"sort=title,title", "sort"},
		{"sort=title,created_at,id,title", "sort"},
		{"hashed_password=x", "hashed_password"},
		{"is_superuser=true", "is_superuser"},
		{"author_id[gte]=1", "author_id[gte]"},
		{"author_id[bogus]=1", "author_id[bogus]"},
		{"author_id[eq=1", "author_id[eq"},
		{"author_id=1.5", "author_id"},
		{"author_id[in]=1,x", "author_id[in]"},
		{"published=maybe", "published"},
		{"published=%20true", "published"},
		{"created_at[gte]=yesterday", "created_at[gte]"},
		{"title[contains]=", "title[contains]"},
		{"note[isnull]=maybe", "note[isnull]"},
		{"limit=1e9", "limit"},
		{"limit=101", "limit"},
		{"limit=-1", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
		{"offset=-5", "offset"},
		{"offset=1e18", "offset"},
		{"offset=1000000000000000000", "offset"},
		{"include_total=maybe", "include_total"},
		{"deleted=all", "deleted"},
		{"cursor=" + strings.Repeat("a", 3000), "cursor"},
		{"cursor=a&offset=1", "cursor"},
		{"limit=1&limit=2", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			v, _ := url.ParseQuery(tt.in)
			_, err := crud.ParseQuery(v, testSpec)
			var ce *crud.Error
			if !errors.Is(err, crud.ErrInvalidQuery) || !errors.As(err, &ce) || ce.HTTPStatus() != http.StatusBadRequest {
				t.Fatalf("ParseQuery(%q) = %v; want ErrInvalidQuery (400)", tt.in, err)
			}
			if p := ce.Problems(); len(p) != 1 || p[0].Field != tt.field {
				t.Errorf("ParseQuery(%q) details = %+v; want one problem on %s", tt.in, p, tt.field)
			}
		})
	}
	t.Run("in cap", func(t *testing.T) {
		spec := testSpec
		spec.MaxIn = 3
		_, err := crud.ParseQuery(url.Values{"author_id[in]": {"1,2,3,4"}}, spec)
		if !errors.Is(err, crud.ErrInvalidQuery) {
			t.Errorf("in over MaxIn = %v; want ErrInvalidQuery", err)
		}
	})
	t.Run("offset when cursor only", func(t *testing.T) {
		spec := testSpec
		spec.CursorOnly = true
		_, err := crud.ParseQuery(url.Values{"offset": {"2"}}, spec)
		if p := crud.Problems(err); len(p) != 1 || p[0].Field != "offset" {
			t.Errorf("offset with CursorOnly = %v; want one problem on offset", err)
		}
	})
	t.Run("values", func(t *testing.T) {
		spec := testSpec
		spec.Filters = map[string]crud.FilterSpec{"role": {Type: crud.String, Ops: []crud.Op{crud.Eq, crud.Ne, crud.In}, Values: []string{"user", "admin"}}}
		for _, in := range []string{"role=root", "role[ne]=root", "role[in]=user,root"} {
			v, _ := url.ParseQuery(in)
			if _, err := crud.ParseQuery(v, spec); !errors.Is(err, crud.ErrInvalidQuery) {
				t.Errorf("ParseQuery(%q) = %v; want ErrInvalidQuery", in, err)
			}
		}
		for _, in := range []string{"role=admin", "role[ne]=user", "role[in]=user,admin"} {
			v, _ := url.ParseQuery(in)
			if _, err := crud.ParseQuery(v, spec); err != nil {
				t.Errorf("ParseQuery(%q) = %v; want nil", in, err)
			}
		}
	})
	t.Run("deleted not allowed", func(t *testing.T) {
		spec := testSpec
		spec.AllowDeleted = false
		_, err := crud.ParseQuery(url.Values{"deleted": {"include"}}, spec)
		if !errors.Is(err, crud.ErrInvalidQuery) {
			t.Errorf("deleted without AllowDeleted = %v; want ErrInvalidQuery", err)
		}
	})
	t.Run("too many parameters", func(t *testing.T) {
		v := url.Values{}
		for i := range 65 {
			v.Set(strings.Repeat("x", i+1), "1")
		}
		_, err := crud.ParseQuery(v, testSpec)
		if p := crud.Problems(err); len(p) != 1 || p[0].Field != "query" {
			t.Errorf("65 parameters: problems %+v; want one on query", p)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		v, _ := url.ParseQuery("sort=x&limit=0&offset=-1&is_superuser=1&published=2")
		_, err := crud.ParseQuery(v, testSpec)
		got := crud.Problems(err)
		if len(got) != 5 {
			t.Errorf("problems = %+v; want 5", got)
		}
	})
}

func TestParseSort(t *testing.T) {
	tests := []struct {
		name, in string
		want     []crud.Sort
		wantErr  error
	}{
		{name: "asc", in: "name", want: []crud.Sort{{Field: "name"}}},
		{name: "desc", in: "-created_at", want: []crud.Sort{{Field: "created_at", Desc: true}}},
		{name: "several", in: "-a,b", want: []crud.Sort{{Field: "a", Desc: true}, {Field: "b"}}},
		{name: "empty field", in: "-", wantErr: crud.ErrInvalidQuery},
		{name: "empty key", in: "a,,b", wantErr: crud.ErrInvalidQuery},
		{name: "repeated", in: "a,-a", wantErr: crud.ErrInvalidQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := crud.ParseSort(tt.in)
			if !reflect.DeepEqual(got, tt.want) || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseSort(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParsePatch(t *testing.T) {
	allowed := []string{"title", "note", "score"}
	t.Run("absent, null and values", func(t *testing.T) {
		p, err := crud.ParsePatch([]byte(`{"title":"x","note":null}`), allowed...)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := p.Set["note"]; !ok || v != nil {
			t.Errorf("note = %v, %v; want present and nil", v, ok)
		}
		if _, ok := p.Set["score"]; ok {
			t.Errorf("absent score is present")
		}
		if string(p.Set["title"].(json.RawMessage)) != `"x"` {
			t.Errorf("title = %v", p.Set["title"])
		}
	})
	refused := []struct {
		body   string
		fields []string
	}{
		{`{"title":"x","id":1}`, []string{"id"}},
		{`{"ID":1,"Title":"x"}`, []string{"ID", "Title"}},
		{`{"is_superuser":true,"hashed_password":"p"}`, []string{"hashed_password", "is_superuser"}},
		{`{"title":"a","title":"b"}`, []string{"title"}},
		{`{"title":"a","title":"b","title":"c"}`, []string{"title"}},
		{`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, []string{"body"}},
		{`{}`, []string{"body"}},
		{`{` + strings.Repeat(`"k":1,`, 70) + `"z":1}`, []string{"body"}},
		{`null`, []string{"body"}},
		{`"title"`, []string{"body"}},
		{`{"title":"x"} trailing`, []string{"body"}},
	}
	for _, tt := range refused {
		t.Run(tt.body[:min(len(tt.body), 30)], func(t *testing.T) {
			_, err := crud.ParsePatch([]byte(tt.body), allowed...)
			if !errors.Is(err, crud.ErrInvalidPatch) {
				t.Fatalf("ParsePatch(%s) = %v; want ErrInvalidPatch", tt.body, err)
			}
			var got []string
			for _, p := range crud.Problems(err) {
				got = append(got, p.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("ParsePatch(%s) problems on %v; want %v", tt.body, got, tt.fields)
			}
		})
	}
}

func TestErrorContract(t *testing.T) {
	tests := []struct {
		err    error
		status int
		typ    string
	}{
		{crud.ErrNotFound, 404, "not_found"},
		{crud.ErrConflict, 409, "conflict"},
		{crud.ErrForeignKey, 409, "foreign_key_violation"},
		{crud.ErrInvalidQuery, 400, "invalid_query"},
		{crud.ErrInvalidPatch, 422, "invalid_patch"},
		{crud.ErrInvalidValue, 422, "invalid_value"},
	}
	for _, tt := range tests {
		var hs interface {
			HTTPStatus() int
			ErrorType() string
			ErrorDetails() any
			PublicMessage() string
		}
		wrapped := errors.Join(errors.New("context"), tt.err)
		if !errors.As(wrapped, &hs) || hs.HTTPStatus() != tt.status || hs.ErrorType() != tt.typ {
			t.Errorf("%v: status/type not found through a wrapper", tt.err)
		}
		withDetails := tt.err.(*crud.Error).WithProblems(crud.Problem{Field: "f", Reason: "r"})
		if !errors.Is(withDetails, tt.err) || withDetails.HTTPStatus() != tt.status || withDetails.ErrorDetails() == nil {
			t.Errorf("%v.WithProblems lost its kind, status or details", tt.err)
		}
		for _, other := range tests {
			if other.err != tt.err && errors.Is(withDetails, other.err) {
				t.Errorf("%v matches %v", tt.err, other.err)
			}
		}
	}
	if crud.ErrNotFound.ErrorDetails() != nil {
		t.Errorf("sentinel has details")
	}
}

func TestNewRepositoryRefuses(t *testing.T) {
	type noID struct {
		Name string `db:"name"`
	}
	type badVersion struct {
		ID      int64  `db:"id"`
		Version string `db:"version"`
	}
	type badDeleted struct {
		ID        int64     `db:"id"`
		DeletedAt time.Time `db:"deleted_at"`
	}
	type twice struct {
		ID int64  `db:"id"`
		A  string `db:"x"`
		B  string `db:"x"`
	}
	db := openSQLite(t)
	errs := []error{
		func() error { _, err := crud.NewRepository[noID](db, crud.Config{Table: "t"}); return err }(),
		func() error { _, err := crud.NewRepository[badVersion](db, crud.Config{Table: "t"}); return err }(),
		func() error { _, err := crud.NewRepository[badDeleted](db, crud.Config{Table: "t"}); return err }(),
		func() error { _, err := crud.NewRepository[twice](db, crud.Config{Table: "t"}); return err }(),
		func() error { _, err := crud.NewRepository[badVersion](db, crud.Config{}); return err }(),
		func() error { _, err := crud.NewRepository[noID](nil, crud.Config{Table: "t"}); return err }(),
		func() error {
			_, err := crud.NewRepository[badVersion](db, crud.Config{Table: "t", Dialect: "mysql"})
			return err
		}(),
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: NewRepository = nil error", i)
		}
	}
	if _, err := crud.NewRepository[badVersion](db, crud.Config{Table: "t", VersionColumn: "-"}); err != nil {
		t.Errorf("VersionColumn \"-\" = %v; want the version check off", err)
	}
}
