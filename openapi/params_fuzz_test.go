package openapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// KindsIn has a parameter of every kind a route binds.
type KindsIn struct {
	ID    int64      `path:"id"`
	U     uint32     `path:"u"`
	Flag  bool       `path:"flag"`
	Key   uuid.UUID  `path:"key"`
	N     int        `query:"n"`
	I8    *int8      `query:"i8"`
	Ratio float64    `query:"ratio"`
	F32   float32    `query:"f32"`
	Draft *bool      `query:"draft"`
	Since *time.Time `query:"since"`
	Nums  []int      `query:"num"`
	Tags  []string   `query:"tag"`
	Hdr   uint16     `header:"X-Count"`
}

// KindsOut echoes what was bound, as the client should have written it.
type KindsOut struct {
	ID    string   `json:"id"`
	U     string   `json:"u"`
	Flag  string   `json:"flag"`
	Key   string   `json:"key"`
	N     int      `json:"n"`
	I8    *int8    `json:"i8"`
	Ratio float64  `json:"ratio"`
	F32   float32  `json:"f32"`
	Draft *bool    `json:"draft"`
	Since string   `json:"since"`
	Nums  []int    `json:"nums"`
	Tags  []string `json:"tags"`
	Hdr   uint16   `json:"hdr"`
}

// kindsServer serves GET /k/{id}/{u}/{flag}/{key} binding KindsIn.
func kindsServer(tb testing.TB) http.Handler {
	tb.Helper()
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "/api", openapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	openapi.Get(api, "/k/{id}/{u}/{flag}/{key}", func(_ context.Context, in *KindsIn) (*KindsOut, error) {
		out := &KindsOut{ID: strconv.FormatInt(in.ID, 10), U: strconv.FormatUint(uint64(in.U), 10),
			Flag: strconv.FormatBool(in.Flag), Key: in.Key.String(), N: in.N, I8: in.I8, Ratio: in.Ratio, F32: in.F32,
			Draft: in.Draft, Nums: in.Nums, Tags: in.Tags, Hdr: in.Hdr}
		if in.Since != nil {
			out.Since = in.Since.Format(time.RFC3339Nano)
		}
		return out, nil
	})
	return s.Echo()
}

const okKey = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

func serve(h http.Handler, target string, hdr http.Header) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	req.URL, _ = url.Parse(target)
	req.RequestURI = target
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestCanonicalParameters is defect 7's second half: an id in a path is
// read only as written canonically, so "+1", " 1" and "01" no longer all
// name user 1. A path parameter that does not parse, or is not written as
// the server writes it, names no resource: 404. A query parameter or
// header of an integer type takes the same canonical digits, else 400.
func TestCanonicalParameters(t *testing.T) {
	h := kindsServer(t)
	path := func(id, u, flag, key string) string {
		return "/api/k/" + url.PathEscape(id) + "/" + url.PathEscape(u) + "/" + url.PathEscape(flag) + "/" + url.PathEscape(key)
	}
	okPath := path("1", "2", "true", okKey)
	tests := []struct {
		name   string
		target string
		hdr    string
		status int
	}{
		{"canonical", okPath + "?n=-3&i8=-128&ratio=0.5&f32=-0&num=0&num=10", "65535", 200},
		{"negative id", path("-1", "0", "false", okKey), "", 200},
		{"largest id", path("9223372036854775807", "4294967295", "true", okKey), "", 200},
	}
	for _, bad := range []string{"+1", " 1", "1 ", "01", "00", "1.0", "0x1", "1e3", "-0", "--1", "1_000", "99999999999999999999", "", "٣"} {
		if bad == "" { // an empty query value or header counts as absent
			tests = append(tests, struct {
				name   string
				target string
				hdr    string
				status int
			}{"path id empty", path(bad, "2", "true", okKey), "", 404})
			continue
		}
		tests = append(tests,
			struct {
				name   string
				target string
				hdr    string
				status int
			}{"path id " + strconv.Quote(bad), path(bad, "2", "true", okKey), "", 404},
			struct {
				name   string
				target string
				hdr    string
				status int
			}{"query n " + strconv.Quote(bad), okPath + "?n=" + url.QueryEscape(bad), "", 400},
			struct {
				name   string
				target string
				hdr    string
				status int
			}{"header " + strconv.Quote(bad), okPath, bad, 400},
		)
	}
	more := []struct {
		name   string
		target string
		hdr    string
		status int
	}{
		{"path uint negative", path("1", "-1", "true", okKey), "", 404},
		{"path uint leading zero", path("1", "02", "true", okKey), "", 404},
		{"path uint too large", path("1", "4294967296", "true", okKey), "", 404},
		{"path bool not as written", path("1", "2", "TRUE", okKey), "", 404},
		{"path bool 1", path("1", "2", "1", okKey), "", 404},
		{"path uuid upper case", path("1", "2", "true", strings.ToUpper(okKey)), "", 404},
		{"path uuid braces", path("1", "2", "true", "{"+okKey+"}"), "", 404},
		{"path uuid urn", path("1", "2", "true", "urn:uuid:"+okKey), "", 404},
		{"path id and query both bad", path("01", "2", "true", okKey) + "?n=x", "", 404},
		{"path uuid empty", path("1", "2", "true", ""), "", 404},
		{"query i8 overflow", okPath + "?i8=128", "", 400},
		{"query i8 leading zero", okPath + "?i8=-01", "", 400},
		{"query list item leading zero", okPath + "?num=1&num=02", "", 400},
		{"query float NaN", okPath + "?ratio=NaN", "", 400},
		{"query float Inf", okPath + "?ratio=-Inf", "", 400},
		{"query float hex", okPath + "?ratio=0x1p-2", "", 400},
		{"query float underscore", okPath + "?ratio=1_0", "", 400},
		{"query float leading dot", okPath + "?ratio=.5", "", 400},
		{"query float plus", okPath + "?ratio=%2B1", "", 400},
		{"query float32 overflow", okPath + "?f32=1e39", "", 400},
		{"query float exponent", okPath + "?ratio=-1.5e-3&f32=1E3", "", 200},
	}
	tests = append(tests, more...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.hdr != "" {
				hdr.Set("X-Count", tt.hdr)
			}
			code, body := serve(h, tt.target, hdr)
			if code != tt.status {
				t.Errorf("GET %s (X-Count %q) = %d %s; want %d", tt.target, tt.hdr, code, body, tt.status)
			}
			if code == 404 && !strings.Contains(body, `"not_found"`) {
				t.Errorf("GET %s = 404 %s; want type not_found", tt.target, body)
			}
		})
	}
}

// FuzzBind sends a route parameters of every kind as a client may write
// them. The answer is 200 or a 4xx envelope, never 5xx; a path parameter
// that does not parse is 404, a query or header one 400; and when the
// route answers 200, each integer and boolean was written canonically, as
// the handler writes it back.
func FuzzBind(f *testing.F) {
	for _, s := range [][5]string{
		{"1", "2", "true", okKey, "n=3&ratio=0.5&num=1&num=2&tag=a&draft=false&since=2026-01-02T03:04:05Z"},
		{"+1", "02", "TRUE", strings.ToUpper(okKey), "n=+1&i8=-0"},
		{" 1", "1.0", "1", "{" + okKey + "}", "ratio=NaN&f32=1e39"},
		{"99999999999999999999", "-1", "false", "", "n=1e3&num=0x1&num=&tag="},
		{"-9223372036854775808", "4294967295", "f", okKey, "since=2026-13-01T00:00:00Z&draft=maybe"},
		{"%zz", "/", "..", "\x00", "%zz&n=%"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], "7")
	}
	h := kindsServer(f)
	f.Fuzz(func(t *testing.T, id, u, flag, key, query, hdr string) {
		target := "/api/k/" + url.PathEscape(id) + "/" + url.PathEscape(u) + "/" + url.PathEscape(flag) + "/" + url.PathEscape(key)
		if query != "" {
			target += "?" + query
		}
		parsed, err := url.Parse(target)
		if err != nil {
			t.Skip()
		}
		h2 := http.Header{}
		if hdr != "" {
			h2["X-Count"] = []string{hdr}
		}
		code, body := serve(h, target, h2)
		if code >= 500 || (code != 200 && code != 400 && code != 404 && code != 422) {
			t.Fatalf("GET %s (X-Count %q) = %d %s; want 200, 400, 404 or 422", target, hdr, code, body)
		}
		if code != 200 {
			var env server.Envelope
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Code != code {
				t.Fatalf("GET %s = %d %s: not an envelope", target, code, body)
			}
			return
		}
		var out KindsOut
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("GET %s = 200 %s: %v", target, body, err)
		}
		if out.ID != id || out.U != u || out.Flag != flag || out.Key != key {
			t.Fatalf("GET %s bound path %s/%s/%s/%s; want them as written: %q/%q/%q/%q", target, out.ID, out.U, out.Flag, out.Key, id, u, flag, key)
		}
		if math.IsNaN(out.Ratio) || math.IsInf(out.Ratio, 0) {
			t.Fatalf("GET %s bound ratio %v", target, out.Ratio)
		}
		vals, _ := url.ParseQuery(parsed.RawQuery) // what is sent: a '#' ends the query
		for _, s := range vals["n"] {
			if s != "" {
				if s != strconv.Itoa(out.N) {
					t.Fatalf("GET %s bound n=%q as %d", target, s, out.N)
				}
				break
			}
		}
		if hdr != "" && hdr != strconv.Itoa(int(out.Hdr)) {
			t.Fatalf("GET %s bound X-Count %q as %d", target, hdr, out.Hdr)
		}
	})
}
