package crud_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
)

// countingExt is a sqlx.ExtContext that counts the statements reaching the
// database.
type countingExt struct {
	*sqlx.DB
	n atomic.Int64
}

func (c *countingExt) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.DB.QueryContext(ctx, q, args...)
}

func (c *countingExt) QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error) {
	c.n.Add(1)
	return c.DB.QueryxContext(ctx, q, args...)
}

func (c *countingExt) QueryRowxContext(ctx context.Context, q string, args ...any) *sqlx.Row {
	c.n.Add(1)
	return c.DB.QueryRowxContext(ctx, q, args...)
}

func (c *countingExt) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.DB.ExecContext(ctx, q, args...)
}

var _ sqlx.ExtContext = (*countingExt)(nil)

// envelope is the error body of the test app (the shape server renders).
type envelope struct {
	Error struct {
		Code    int            `json:"code"`
		Type    string         `json:"type"`
		Message string         `json:"message"`
		Details []crud.Problem `json:"details"`
	} `json:"error"`
}

// newApp serves fixtures over HTTP as the example app would, with an error
// handler that reads HTTPStatus, ErrorType, ErrorDetails and PublicMessage.
func newApp(tb testing.TB, store crud.Store[crudtest.Fixture]) *httptest.Server {
	tb.Helper()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var env envelope
		env.Error.Code, env.Error.Type, env.Error.Message = 500, "internal_error", "internal server error"
		var ce *crud.Error
		if errors.As(err, &ce) {
			env.Error.Code, env.Error.Type, env.Error.Message = ce.HTTPStatus(), ce.ErrorType(), ce.PublicMessage()
			env.Error.Details = ce.Problems()
		} else if he, ok := err.(*echo.HTTPError); ok {
			env.Error.Code, env.Error.Type, env.Error.Message = he.Code, "http", fmt.Sprint(he.Message)
		}
		_ = c.JSON(env.Error.Code, env)
	}
	spec := crudtest.FixtureSpec()
	spec.AllowDeleted = false
	e.GET("/fixtures", func(c echo.Context) error {
		q, err := crud.ParseQuery(c.QueryParams(), spec)
		if err != nil {
			return err
		}
		p, err := store.List(c.Request().Context(), q)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	e.POST("/fixtures", func(c echo.Context) error {
		var f crudtest.Fixture
		if err := json.NewDecoder(c.Request().Body).Decode(&f); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "bad json")
		}
		if err := store.Create(c.Request().Context(), &f); err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, f)
	})
	e.PATCH("/fixtures/:id", func(c echo.Context) error {
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
		if err != nil {
			return err
		}
		p, err := crud.ParsePatch(body, crudtest.FixtureWritable()...)
		if err != nil {
			return err
		}
		if v := c.Request().Header.Get("If-Match"); v != "" {
			if p.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "bad If-Match")
			}
		}
		f, err := store.Update(c.Request().Context(), c.Param("id"), p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, f)
	})
	ts := httptest.NewServer(e)
	tb.Cleanup(ts.Close)
	return ts
}

func do(tb testing.TB, method, u, body string, hdr ...string) (int, envelope, string) {
	tb.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env envelope
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env, string(raw)
}

func TestBadInput(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			db := fixtureDB(t, d)
			counter := &countingExt{DB: db}
			repo := fixtureRepo(t, db).WithTx(counter)
			seeded := make([]crudtest.Fixture, 3)
			for i := range seeded {
				seeded[i] = crudtest.Fixture{Slug: fmt.Sprint("s", i), Title: "t", AuthorID: 1, HashedPassword: "h", Note: new("n")}
			}
			if err := repo.CreateMany(t.Context(), seeded); err != nil {
				t.Fatal(err)
			}
			app := newApp(t, repo)

			// A real list with a cursor, to tamper with.
			_, _, raw := do(t, "GET", app.URL+"/fixtures?limit=1&sort=-created_at", "")
			var page crud.Page[crudtest.Fixture]
			if err := json.Unmarshal([]byte(raw), &page); err != nil || page.NextCursor == "" {
				t.Fatalf("list for a cursor: %s, %v", raw, err)
			}
			tampered := []byte(page.NextCursor)
			tampered[3] ^= 1

			inList := make([]string, 101)
			for i := range inList {
				inList[i] = strconv.Itoa(i)
			}
			refused := []struct {
				name, query string
				fields      []string // every problem reported
			}{
				{"sort injection", "sort=" + url.QueryEscape("id;drop table fixtures"), []string{"sort"}},
				{"sort subquery", "sort=" + url.QueryEscape("(select pg_sleep(5))"), []string{"sort"}},
				{"sort sensitive", "sort=hashed_password", []string{"sort"}},
				{"sort sensitive desc", "sort=-is_superuser", []string{"sort"}},
				{"filter sensitive", "hashed_password=h", []string{"hashed_password"}},
				{"filter sensitive op", "hashed_password[prefix]=a", []string{"hashed_password[prefix]"}},
				{"filter superuser", "is_superuser=true", []string{"is_superuser"}},
				{"filter unknown", "nope=1", []string{"nope"}},
				{"filter injection", url.QueryEscape("title' OR 1=1--") + "=x", []string{"title' OR 1=1--"}},
				{"op not allowed", "published[gt]=true", []string{"published[gt]"}},
				{"bad value", "author_id=abc", []string{"author_id"}},
				{"in too long", "author_id[in]=" + strings.Join(inList, ","), []string{"author_id[in]"}},
				{"limit huge", "limit=1000000000", []string{"limit"}},
				{"limit negative", "limit=-1", []string{"limit"}},
				{"limit text", "limit=abc", []string{"limit"}},
				{"limit fraction", "limit=1.5", []string{"limit"}},
				{"limit zero", "limit=0", []string{"limit"}},
				{"offset negative", "offset=-5", []string{"offset"}},
				{"offset huge", "offset=1000000000000000000", []string{"offset"}},
				{"offset over cap", "offset=10001", []string{"offset"}},
				{"deleted not allowed", "deleted=include", []string{"deleted"}},
				{"repeated param", "limit=1&limit=2", []string{"limit"}},
				{"tampered cursor", "sort=-created_at&cursor=" + url.QueryEscape(string(tampered)), []string{"cursor"}},
				{"foreign cursor", "sort=title&cursor=" + url.QueryEscape(page.NextCursor), []string{"cursor"}},
				{"garbage cursor", "cursor=%00%01", []string{"cursor"}},
				{"every problem", "sort=hashed_password&limit=abc&offset=-5&is_superuser=1&author_id=x",
					[]string{"author_id", "is_superuser", "limit", "offset", "sort"}},
			}
			for _, tt := range refused {
				t.Run(tt.name, func(t *testing.T) {
					before := counter.n.Load()
					start := time.Now()
					code, env, raw := do(t, "GET", app.URL+"/fixtures?"+tt.query, "")
					if code != http.StatusBadRequest || env.Error.Type != "invalid_query" {
						t.Fatalf("GET ?%s = %d %s; want 400 invalid_query", tt.query, code, raw)
					}
					if took := time.Since(start); took > time.Second {
						t.Errorf("GET ?%s took %v", tt.query, took)
					}
					if n := counter.n.Load() - before; n != 0 {
						t.Errorf("GET ?%s ran %d statements; want none", tt.query, n)
					}
					var got []string
					for _, p := range env.Error.Details {
						got = append(got, p.Field)
					}
					if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
						t.Errorf("GET ?%s details = %v; want fields %v", tt.query, env.Error.Details, tt.fields)
					}
					if strings.Contains(strings.ToUpper(raw), "SELECT") {
						t.Errorf("response leaks SQL: %s", raw)
					}
				})
			}
			t.Run("table intact", func(t *testing.T) {
				var n int
				if err := db.Get(&n, "SELECT COUNT(*) FROM fixtures"); err != nil || n != 3 {
					t.Errorf("fixtures count = %d, %v; want 3", n, err)
				}
			})

			// Mass assignment: refused patches leave the row as it was.
			target := seeded[0]
			readRow := func() crudtest.Fixture {
				var f crudtest.Fixture
				if err := db.Get(&f, db.Rebind("SELECT * FROM fixtures WHERE id = ?"), target.ID); err != nil {
					t.Fatal(err)
				}
				return f
			}
			before := readRow()
			patches := []string{
				`{"id": 999}`,
				`{"title":"x","id":999}`,
				`{"title":"x","Id":999}`,
				`{"title":"x","is_superuser":true}`,
				`{"title":"x","IS_SUPERUSER":true}`,
				`{"title":"x","isSuperuser":true}`,
				`{"title":"x","hashed_password":"pwn"}`,
				`{"title":"x","Hashed_Password":"pwn"}`,
				`{"title":"x","title":"y"}`,
				`{"title":"x","is_superuser":false,"is_superuser":true}`,
				`{"title":"x","version":7}`,
				`{"title":"x","deleted_at":null}`,
				`{"title":"x","created_at":"2000-01-01T00:00:00Z"}`,
				`{"title":null}`,
				`{"author_id":"not a number"}`,
				`{"title":"x"}{"id":1}`,
				`not json`,
			}
			for _, body := range patches {
				t.Run("patch "+body, func(t *testing.T) {
					n0 := counter.n.Load()
					code, env, raw := do(t, "PATCH", fmt.Sprint(app.URL, "/fixtures/", target.ID), body)
					if code != http.StatusUnprocessableEntity || env.Error.Type != "invalid_patch" {
						t.Fatalf("PATCH %s = %d %s; want 422 invalid_patch", body, code, raw)
					}
					if n := counter.n.Load() - n0; n != 0 {
						t.Errorf("PATCH %s ran %d statements; want none", body, n)
					}
				})
			}
			if after := readRow(); after.Title != before.Title || after.IsSuperuser || after.HashedPassword != "h" ||
				after.Version != before.Version || after.ID != before.ID || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("row after refused patches = %+v; want %+v", after, before)
			}

			t.Run("stale version", func(t *testing.T) {
				code, _, raw := do(t, "PATCH", fmt.Sprint(app.URL, "/fixtures/", target.ID), `{"title":"ok"}`, "If-Match", "1")
				if code != http.StatusOK {
					t.Fatalf("PATCH at version 1 = %d %s", code, raw)
				}
				code, env, raw := do(t, "PATCH", fmt.Sprint(app.URL, "/fixtures/", target.ID), `{"title":"stale"}`, "If-Match", "1")
				if code != http.StatusConflict || env.Error.Type != "conflict" {
					t.Errorf("PATCH at stale version = %d %s; want 409 conflict", code, raw)
				}
			})
			t.Run("unique violation", func(t *testing.T) {
				code, env, raw := do(t, "POST", app.URL+"/fixtures", `{"slug":"s1","title":"dup"}`)
				if code != http.StatusConflict || env.Error.Type != "conflict" {
					t.Fatalf("POST duplicate = %d %s; want 409 conflict", code, raw)
				}
				if strings.Contains(raw, "INSERT") || strings.Contains(raw, "fixtures_slug") || strings.Contains(raw, "UNIQUE") {
					t.Errorf("409 body leaks the database error: %s", raw)
				}
			})
			t.Run("missing row", func(t *testing.T) {
				code, env, raw := do(t, "PATCH", app.URL+"/fixtures/987654", `{"title":"x"}`)
				if code != http.StatusNotFound || env.Error.Type != "not_found" {
					t.Errorf("PATCH missing = %d %s; want 404", code, raw)
				}
				code, _, raw = do(t, "PATCH", app.URL+"/fixtures/abc", `{"title":"x"}`)
				if code != http.StatusNotFound {
					t.Errorf("PATCH /fixtures/abc = %d %s; want 404", code, raw)
				}
			})
		})
	}
}
