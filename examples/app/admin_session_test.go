package main

// The admin area's sign-in, sign-out, CSRF protection and guard, on the
// real app in-process (newLiveApp): the embedded defaults (sessions in
// memory) and PostgreSQL + Redis (sessions in Redis). Requests are made the
// way a browser makes them: a cookie jar, redirects not followed, forms
// posted as application/x-www-form-urlencoded.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
	"github.com/gantry-dev/gantry/openapi/openapitest"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects.
type browser struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   string
}

// envelope decodes the error envelope, failing when the body is not one
// of status.
func (p answer) envelope(t *testing.T) (typ, msg string) {
	t.Helper()
	var env struct {
		Error struct {
			Code    int    `json:"code"`
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(p.body), &env); err != nil || env.Error.Code != p.status || env.Error.Type == "" {
		t.Fatalf("%d %s is not the error envelope", p.status, p.body)
	}
	return env.Error.Type, env.Error.Message
}

// do sends a request; hdr holds header name, value pairs.
func (b *browser) do(method, path string, body io.Reader, hdr ...string) answer {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (b *browser) get(path string, hdr ...string) answer { return b.do("GET", path, nil, hdr...) }

// post sends form as application/x-www-form-urlencoded.
func (b *browser) post(path string, form url.Values, hdr ...string) answer {
	b.t.Helper()
	return b.do("POST", path, strings.NewReader(form.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginForm opens the sign-in page and returns its CSRF token.
func (b *browser) loginForm() string {
	b.t.Helper()
	p := b.get(adminLogin)
	m := csrfInput.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.t.Fatalf("GET %s = %d, no csrf_token in %.300s", adminLogin, p.status, p.body)
	}
	return m[1]
}

// signIn fills in and posts the sign-in form.
func (b *browser) signIn(user, password, next string) answer {
	b.t.Helper()
	tok := b.loginForm()
	return b.post(adminLogin, url.Values{"username": {user}, "password": {password}, "next": {next}, csrfField: {tok}})
}

// mustSignIn signs in and returns the CSRF token of the new session.
func (b *browser) mustSignIn(user, password string) string {
	b.t.Helper()
	p := b.signIn(user, password, "")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != adminHome {
		b.t.Fatalf("sign in as %s = %d Location %q; want 303 to %s\n%.500s", user, p.status, p.header.Get("Location"), adminHome, p.body)
	}
	return b.csrf()
}

// csrf reads the session's CSRF token off the dashboard.
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get(adminHome)
	m := csrfToken.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.t.Fatalf("GET %s = %d, no CSRF token in %.300s", adminHome, p.status, p.body)
	}
	return m[1]
}

// csrfToken finds the token in the dashboard's page (a form field or the
// meta tag the dashboard's script reads).
var csrfToken = regexp.MustCompile(`(?:name="csrf_token" value|name="csrf-token" content)="([^"]+)"`)

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signedOut asserts that the dashboard leads to the sign-in page.
func (b *browser) signedOut(why string) {
	b.t.Helper()
	if p := b.get(adminHome); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), adminLogin+"?next=") {
		b.t.Errorf("%s: GET %s = %d Location %q; want 303 to the sign-in page", why, adminHome, p.status, p.header.Get("Location"))
	}
}

// adminBackends runs fn on the embedded defaults (sessions in memory) and
// on PostgreSQL + Redis (sessions in Redis).
func adminBackends(t *testing.T, fn func(t *testing.T, l *liveApp)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, newLiveApp(t, nil))
	})
	t.Run("postgres+redis", func(t *testing.T) {
		t.Parallel()
		_, prefix := testenv.Redis(t)
		fn(t, newLiveApp(t, map[string]string{"DATABASE_URL": testenv.PostgresDSN(t), "REDIS_URL": testenv.RedisURL(), "REDIS_KEY_PREFIX": prefix}))
	})
}

// account creates a user with a real password hash.
func (l *liveApp) account(t *testing.T, name, password string, edit func(*User)) User {
	t.Helper()
	hash, err := l.hasher.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	u := User{Username: name, Email: name + "@example.com", HashedPassword: hash, Role: RoleUser, Active: true}
	if edit != nil {
		edit(&u)
	}
	if err := l.users.Create(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAdminSignIn: only an active superuser with the right password gets
// in; every other attempt gets the same page and status, and no session.
func TestAdminSignIn(t *testing.T) {
	t.Parallel()
	adminBackends(t, func(t *testing.T, l *liveApp) {
		l.account(t, "ann", "ann-password-1", func(u *User) { u.Role = RoleAdmin })
		l.account(t, "bob", "bob-password-1", nil)
		l.account(t, "sleepy", "sleepy-password", func(u *User) { u.Superuser, u.Role, u.Active = true, RoleAdmin, false })
		gone := l.account(t, "gone", "gone-password-1", func(u *User) { u.Superuser, u.Role = true, RoleAdmin })
		if err := l.users.SoftDelete(t.Context(), gone.ID); err != nil {
			t.Fatal(err)
		}
		refused := []struct{ name, user, password string }{
			{"wrong password", "root", "root-password-2"},
			{"unknown account", "nobody", "root-password-1"},
			{"admin role but not a superuser", "ann", "ann-password-1"},
			{"plain user", "bob", "bob-password-1"},
			{"inactive superuser", "sleepy", "sleepy-password"},
			{"deleted superuser", "gone", "gone-password-1"},
			{"empty password", "root", ""},
			{"password too long", "root", strings.Repeat("x", 1025)},
		}
		var pages []string
		for _, tt := range refused {
			b := newBrowser(t, l.base)
			p := b.signIn(tt.user, tt.password, "")
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `id="login-error"`) || !strings.Contains(p.body, "Wrong username or password") {
				t.Errorf("%s: %d %.300s; want 401 with the sign-in error", tt.name, p.status, p.body)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("%s: CSP %q", tt.name, csp)
			}
			pages = append(pages, strings.ReplaceAll(csrfInput.ReplaceAllString(p.body, ""), `value="`+tt.user+`"`, ""))
			b.signedOut(tt.name)
		}
		for i := range pages {
			if pages[i] != pages[0] {
				t.Errorf("the refusal for %q differs from the one for %q", refused[i].name, refused[0].name)
			}
		}

		b := newBrowser(t, l.base)
		b.loginForm()
		before := b.cookie("session")
		if before == nil {
			t.Fatal("the sign-in page set no session cookie (its CSRF token needs one)")
		}
		p := b.signIn("ROOT ", "root-password-1", "/admin/jobs/queues/email?state=dead")
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/jobs/queues/email?state=dead" {
			t.Fatalf("sign in = %d Location %q; want 303 to next", p.status, p.header.Get("Location"))
		}
		var set *http.Cookie
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == "session" {
				set = c
			}
		}
		if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Secure || set.Path != "/" || set.Value == before.Value {
			t.Errorf("session cookie at sign-in = %+v; want a new value, HttpOnly, SameSite=Lax, not Secure outside production", set)
		}
		if p := b.get(adminHome); p.status != 200 || !csrfToken.MatchString(p.body) {
			t.Errorf("GET %s signed in = %d %.300s", adminHome, p.status, p.body)
		}

		// Session fixation: a cookie planted before the sign-in (here the
		// one the sign-in page gave) is not signed in afterwards.
		fixed := newBrowser(t, l.base)
		u, _ := url.Parse(l.base)
		fixed.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: before.Value, Path: "/"}})
		fixed.signedOut("the cookie from before the sign-in")

		// A signed-in superuser on the sign-in page goes straight on.
		if p := b.get(adminLogin + "?next=%2Fadmin%2Fjobs%2Fworkers"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/jobs/workers" {
			t.Errorf("GET %s signed in = %d %q; want 303 to next", adminLogin, p.status, p.header.Get("Location"))
		}
	})
}

// TestAdminSignInCSRF: the sign-in form itself needs the CSRF token of the
// visitor's session.
func TestAdminSignInCSRF(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, nil)
	other := newBrowser(t, l.base).loginForm()
	tests := []struct {
		name  string
		token func(b *browser) string // "" sends none
		hdr   bool                    // in the X-CSRF-Token header instead of the form
	}{
		{"no token", func(*browser) string { return "" }, false},
		{"wrong token", func(*browser) string { return newCSRFToken() }, false},
		{"another session's token", func(*browser) string { return other }, false},
		{"token of a session never opened", func(b *browser) string { b.jar, _ = cookiejar.New(nil); b.c.Jar = b.jar; return other }, false},
		{"truncated token", func(b *browser) string { return b.loginForm()[:20] }, false},
		{"right token in the header", func(b *browser) string { return b.loginForm() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, l.base)
			b.loginForm()
			form := url.Values{"username": {"root"}, "password": {"root-password-1"}}
			var hdr []string
			if tok := tt.token(b); tt.hdr {
				hdr = []string{csrfHeader, tok}
			} else if tok != "" {
				form.Set(csrfField, tok)
			}
			p := b.post(adminLogin, form, hdr...)
			if tt.hdr {
				if p.status != http.StatusSeeOther {
					t.Errorf("POST %s with the token in the header = %d; want 303", adminLogin, p.status)
				}
				return
			}
			if p.status != http.StatusForbidden {
				t.Fatalf("POST %s = %d %.300s; want 403", adminLogin, p.status, p.body)
			}
			if typ, _ := p.envelope(t); typ != "invalid_csrf_token" {
				t.Errorf("type %q; want invalid_csrf_token", typ)
			}
			b.signedOut(tt.name)
		})
	}
}

// TestAdminGuard: who may use the dashboard's pages and API, and which
// requests need the CSRF token.
func TestAdminGuard(t *testing.T) {
	t.Parallel()
	adminBackends(t, func(t *testing.T, l *liveApp) {
		// The dashboard acts on queues that exist: jobs were enqueued to them.
		if _, err := l.client.Enqueue(t.Context(), SendEmail{To: "carol@example.com", Subject: "Hi", Content: "Hello"}); err != nil {
			t.Fatal(err)
		}
		_, annAPI := l.user(t, "ann", RoleAdmin, false) // admin role: the app's admin guard
		_, bobAPI := l.user(t, "bob", RoleUser, false)
		root := newBrowser(t, l.base)
		tok := root.mustSignIn("root", "root-password-1")
		anon := newBrowser(t, l.base)
		const pause, resume = adminJobsAPI + "/queues/email/pause", adminJobsAPI + "/queues/email/resume"
		form := func(v string) io.Reader { return strings.NewReader(url.Values{csrfField: {v}}.Encode()) }
		formType := []string{"Content-Type", "application/x-www-form-urlencoded"}

		tests := []struct {
			name   string
			b      *browser
			method string
			path   string
			body   io.Reader
			hdr    []string
			status int
			typ    string // envelope type of an error
			paused *bool  // the email queue's pause flag afterwards
		}{
			{name: "signed out page", b: anon, method: "GET", path: adminJobs, status: 303},
			{name: "signed out unknown page", b: anon, method: "GET", path: adminJobs + "/no/such/page", status: 303},
			{name: "signed out API", b: anon, method: "GET", path: adminJobsAPI + "/queues", status: 401, typ: "missing_token"},
			{name: "signed out action", b: anon, method: "POST", path: pause, hdr: []string{csrfHeader, tok}, status: 401, typ: "missing_token"},
			{name: "signed out form post to a page", b: anon, method: "POST", path: adminJobs, status: 401, typ: "missing_token"},
			{name: "session page", b: root, method: "GET", path: adminHome, status: 200},
			{name: "session API read", b: root, method: "GET", path: adminJobsAPI + "/queues", status: 200},
			{name: "session action without token", b: root, method: "POST", path: pause, status: 403, typ: "invalid_csrf_token", paused: ptrTo(false)},
			{name: "session action with a wrong token", b: root, method: "POST", path: pause, hdr: []string{csrfHeader, newCSRFToken()}, status: 403, typ: "invalid_csrf_token", paused: ptrTo(false)},
			{name: "session action with the token in the query", b: root, method: "POST", path: pause + "?csrf_token=" + url.QueryEscape(tok), body: form(""), hdr: formType, status: 403, typ: "invalid_csrf_token", paused: ptrTo(false)},
			{name: "session action with the token in a JSON body", b: root, method: "POST", path: pause, body: strings.NewReader(`{"csrf_token":"` + tok + `"}`), hdr: []string{"Content-Type", "application/json"}, status: 403, typ: "invalid_csrf_token", paused: ptrTo(false)},
			{name: "session action with the header", b: root, method: "POST", path: pause, hdr: []string{csrfHeader, tok}, status: 200, paused: ptrTo(true)},
			{name: "session action with the form field", b: root, method: "POST", path: resume, body: form(tok), hdr: formType, status: 200, paused: ptrTo(false)},
			{name: "bearer of an admin, no cookie, no token", b: anon, method: "POST", path: pause, hdr: []string{"Authorization", "Bearer " + annAPI.token}, status: 200, paused: ptrTo(true)},
			{name: "bearer of an admin and a signed-in cookie", b: root, method: "POST", path: resume, hdr: []string{"Authorization", "Bearer " + annAPI.token}, status: 200, paused: ptrTo(false)},
			{name: "bearer of a plain user", b: anon, method: "POST", path: pause, hdr: []string{"Authorization", "Bearer " + bobAPI.token}, status: 403, typ: "forbidden", paused: ptrTo(false)},
			{name: "bad bearer beside a signed-in cookie", b: root, method: "GET", path: adminJobsAPI + "/queues", hdr: []string{"Authorization", "Bearer garbage"}, status: 401, typ: "invalid_token"},
			{name: "bad bearer and the right CSRF token", b: root, method: "POST", path: pause, hdr: []string{"Authorization", "Bearer garbage", csrfHeader, tok}, status: 401, typ: "invalid_token", paused: ptrTo(false)},
			{name: "bearer on a page", b: anon, method: "GET", path: adminJobs, hdr: []string{"Authorization", "Bearer " + annAPI.token}, status: 303},
		}
		for _, tt := range tests {
			p := tt.b.do(tt.method, tt.path, tt.body, tt.hdr...)
			if p.status != tt.status {
				t.Errorf("%s: %s %s = %d %.300s; want %d", tt.name, tt.method, tt.path, p.status, p.body, tt.status)
				continue
			}
			if tt.status == 303 && !strings.HasPrefix(p.header.Get("Location"), adminLogin+"?next="+url.QueryEscape(tt.path)) {
				t.Errorf("%s: Location %q; want the sign-in page with next=%s", tt.name, p.header.Get("Location"), tt.path)
			}
			if tt.typ != "" {
				if typ, _ := p.envelope(t); typ != tt.typ {
					t.Errorf("%s: envelope type %q; want %q", tt.name, typ, tt.typ)
				}
			}
			if tt.paused != nil {
				s, err := l.inspect.Sizes(t.Context(), "email")
				if err != nil {
					t.Fatal(err)
				}
				if s.Paused != *tt.paused {
					t.Errorf("%s: email queue paused = %v; want %v", tt.name, s.Paused, *tt.paused)
				}
			}
		}
	})
}

// TestAdminSessionEnds: sign-out needs the CSRF token and destroys the
// session (a copy of the cookie is worthless afterwards), and a superuser
// who is deactivated or loses the flag is signed out at once.
func TestAdminSessionEnds(t *testing.T) {
	t.Parallel()
	adminBackends(t, func(t *testing.T, l *liveApp) {
		b := newBrowser(t, l.base)
		tok := b.mustSignIn("root", "root-password-1")
		copied := b.cookie("session")

		if p := b.post(adminLogout, url.Values{}); p.status != http.StatusForbidden {
			t.Errorf("sign out without the token = %d; want 403", p.status)
		}
		if p := b.get(adminHome); p.status != 200 {
			t.Fatalf("after a refused sign-out: GET %s = %d; want 200", adminHome, p.status)
		}
		p := b.post(adminLogout, url.Values{csrfField: {tok}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != adminLogin {
			t.Fatalf("sign out = %d %q; want 303 to %s", p.status, p.header.Get("Location"), adminLogin)
		}
		b.signedOut("after sign-out")
		replay := newBrowser(t, l.base)
		u, _ := url.Parse(l.base)
		replay.jar.SetCookies(u, []*http.Cookie{copied})
		replay.signedOut("a copy of the cookie replayed after sign-out")

		// Rights taken away end the session on its next request.
		for _, change := range []map[string]any{{"is_active": false}, {"is_superuser": false}} {
			su := l.account(t, "su"+strconv.Itoa(len(change))+strings.Join(keys(change), ""), "su-password-1", func(u *User) { u.Superuser, u.Role = true, RoleAdmin })
			b := newBrowser(t, l.base)
			b.mustSignIn(su.Username, "su-password-1")
			if _, err := l.users.Update(t.Context(), su.ID, crud.Patch{Set: change}); err != nil {
				t.Fatal(err)
			}
			b.signedOut("after " + strings.Join(keys(change), ""))
			if p := b.get(adminJobsAPI + "/queues"); p.status != http.StatusUnauthorized {
				t.Errorf("API after %v = %d; want 401", change, p.status)
			}
		}
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAdminLockout: the sign-in page counts failures per account like the
// API's login: after the limit even the right password is refused, with
// 429 and Retry-After.
func TestAdminLockout(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, nil)
	for i := range 10 {
		if p := newBrowser(t, l.base).signIn("root", "wrong-password", ""); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d; want 401", i+1, p.status)
		}
	}
	p := newBrowser(t, l.base).signIn("root", "root-password-1", "")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, `id="login-error"`) {
		t.Errorf("after 10 failures the right password = %d Retry-After %q; want 429 with Retry-After and the form", p.status, p.header.Get("Retry-After"))
	}
	// The API's login shares the count.
	c := &client{t: t, base: l.base}
	c.want(429, "POST", "/api/v1/auth/login", map[string]string{"username": "root", "password": "root-password-1"})
}

// TestAdminCookieInProduction: in production the session cookie is Secure.
func TestAdminCookieInProduction(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, map[string]string{"ENVIRONMENT": "production", "ALLOWED_HOSTS": "127.0.0.1"})
	b := newBrowser(t, l.base)
	p := b.get(adminLogin)
	var set *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "session" {
			set = c
		}
	}
	if p.status != 200 || set == nil || !set.Secure || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode {
		t.Errorf("production: GET %s = %d, cookie %+v; want Secure, HttpOnly, SameSite=Lax", adminLogin, p.status, set)
	}
}

// TestAdminNext: after sign-in the browser goes back to next only when it
// is a local path in the admin area (no open redirect).
func TestAdminNext(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, nil)
	tests := []struct{ next, want string }{
		{"/admin/jobs/queues/email", "/admin/jobs/queues/email"},
		{"/admin/jobs?state=dead&q=a%2Fb", "/admin/jobs?state=dead&q=a%2Fb"},
		{"/admin", "/admin"},
		{"", adminHome},
		{"https://evil.example/admin/jobs", adminHome},
		{"//evil.example/admin/jobs", adminHome},
		{"/\\evil.example/admin", adminHome},
		{"\\\\evil.example", adminHome},
		{"/\t/evil.example", adminHome},
		{"/admin/../evil", adminHome},
		{"/admin/%2e%2e/evil", adminHome},
		{"/admin/jobs/%2F%2Fevil.example", adminHome},
		{"/administrator", adminHome},
		{"/api/v1/users", adminHome},
		{"javascript:alert(1)", adminHome},
		{"admin/jobs", adminHome},
		{"/admin@evil.example", adminHome},
	}
	for _, tt := range tests {
		p := newBrowser(t, l.base).signIn("root", "root-password-1", tt.next)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != tt.want {
			t.Errorf("next=%q: %d Location %q; want 303 to %q", tt.next, p.status, p.header.Get("Location"), tt.want)
		}
	}
}

// FuzzSafeNext: whatever next is, the browser stays on this host, in the
// admin area, even when it drops tabs and newlines and reads backslashes
// as slashes, as browsers do.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/admin/jobs", "//evil", "/\\evil", "/admin/..", "/admin/%2e%2e/x", "https://x/admin", "/admin?next=//x", "/admin/jobs#//x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/admin/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != next && got != adminHome {
			t.Fatalf("safeNext(%q) = %q; want it or %q", next, got, adminHome)
		}
		browserView := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
		u, err := base.Parse(browserView)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not parse: %v", next, got, err)
		}
		if u.Host != "app.example" || u.Scheme != "https" {
			t.Fatalf("safeNext(%q) = %q leads to %s://%s", next, got, u.Scheme, u.Host)
		}
		if p := u.Path; p != adminRoot && !strings.HasPrefix(p, adminRoot+"/") {
			t.Fatalf("safeNext(%q) = %q leads to %s, outside %s", next, got, p, adminRoot)
		}
	})
}

// failingHook makes a Redis client's commands fail while down is set, as
// when the server cannot be reached.
type failingHook struct{ down *atomic.Bool }

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (h failingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.down.Load() {
			return errRedisDown
		}
		return next(ctx, cmd)
	}
}

func (h failingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.down.Load() {
			return errRedisDown
		}
		return next(ctx, cmds)
	}
}

// TestAdminSessionStoreDown: while the Redis of the sessions cannot be
// reached, the admin area answers 503 (a signed-in superuser is not sent to
// the sign-in page, nobody signs in or out), a bearer token still reaches
// the API, and the session works again once Redis is back.
func TestAdminSessionStoreDown(t *testing.T) {
	t.Parallel()
	_, prefix := testenv.Redis(t)
	var down atomic.Bool
	l := newLiveApp(t, map[string]string{"REDIS_URL": testenv.RedisURL(), "REDIS_KEY_PREFIX": prefix}, func(a *app) {
		// Sessions get a client of their own, which the test can break.
		opt, err := redis.ParseURL(testenv.RedisURL())
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		rdb.AddHook(failingHook{&down})
		t.Cleanup(func() { rdb.Close() })
		a.rdb = rdb
	})
	if _, err := l.client.Enqueue(t.Context(), SendEmail{To: "carol@example.com", Subject: "Hi", Content: "Hello"}); err != nil {
		t.Fatal(err)
	}
	root := login(t, l.base, "root", "root-password-1")
	b := newBrowser(t, l.base)
	tok := b.mustSignIn("root", "root-password-1")

	down.Store(true)
	for _, r := range []struct {
		name string
		do   func() answer
	}{
		{"dashboard", func() answer { return b.get(adminHome) }},
		{"API with the session", func() answer { return b.get(adminJobsAPI + "/queues") }},
		{"sign-in page", func() answer { return newBrowser(t, l.base).get(adminLogin) }},
		{"sign-out", func() answer { return b.post(adminLogout, url.Values{csrfField: {tok}}) }},
	} {
		p := r.do()
		if p.status != http.StatusServiceUnavailable {
			t.Errorf("%s with the sessions' Redis down = %d %.200s; want 503", r.name, p.status, p.body)
			continue
		}
		if typ, _ := p.envelope(t); typ != "service_unavailable" {
			t.Errorf("%s: envelope type %q; want service_unavailable", r.name, typ)
		}
	}
	root.want(200, "GET", adminJobsAPI+"/queues", nil)

	down.Store(false)
	if p := b.get(adminHome); p.status != 200 {
		t.Errorf("Redis back: GET %s = %d; want 200, the session kept", adminHome, p.status)
	}
}

// TestAdminDashboard: the jobs dashboard as the app mounts it. Its API's
// document drives it (every request as an admin with a bearer token, each
// answer checked against the document), actions are logged with who did
// them, and the text of e-mails is hidden while their address shows.
func TestAdminDashboard(t *testing.T) {
	t.Parallel()
	l := newLiveApp(t, map[string]string{"LOG_LEVEL": "info"})
	root := login(t, l.base, "root", "root-password-1")
	mail, err := l.client.Enqueue(t.Context(), SendEmail{To: "carol@example.com", Subject: "Your code", Content: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := l.client.Enqueue(t.Context(), ResizeImage{FileID: "f1", UserID: 7})
	if err != nil {
		t.Fatal(err)
	}
	payload := func(id string) map[string]any {
		out := root.want(200, "GET", adminJobsAPI+"/jobs/"+url.PathEscape(id), nil)
		p, _ := out["payload"].(map[string]any)
		return p
	}
	if p := payload(mail.ID); p["to"] != "carol@example.com" || p["subject"] != "Your code" || p["content"] != "[redacted]" {
		t.Errorf("e-mail arguments on the dashboard = %v; want the address and subject, the text redacted", p)
	}
	if p := payload(img.ID); p["file_id"] != "f1" || p["user_id"] != 7.0 {
		t.Errorf("image arguments on the dashboard = %v; want them as stored", p)
	}

	root.want(200, "POST", adminJobsAPI+"/queues/email/pause", nil)
	b := newBrowser(t, l.base)
	tok := b.mustSignIn("root", "root-password-1")
	if p := b.do("POST", adminJobsAPI+"/queues/email/resume", nil, csrfHeader, tok); p.status != 200 {
		t.Fatalf("resume with the session = %d %s", p.status, p.body)
	}
	var logged []string
	for line := range strings.Lines(l.logs.String()) {
		var e struct{ Msg, Action, Target, Actor, Result string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "jobs dashboard action" {
			logged = append(logged, e.Action+" "+e.Target+" by "+e.Actor+": "+e.Result)
		}
	}
	want := []string{"pause email by user 1 <admin@example.com>: ok", "resume email by user 1 <admin@example.com>: ok"}
	if strings.Join(logged, "\n") != strings.Join(want, "\n") {
		t.Errorf("actions logged:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
	}

	doc := openapitest.Fetch(t, l.base+adminJobs+"/openapi.json")
	chk := openapitest.New(t, doc)
	for _, r := range openapitest.Requests(t, doc) {
		if slices.Contains(opaque, r.Name) {
			continue
		}
		r.Header.Set("Authorization", "Bearer "+root.token)
		t.Run(r.Operation+" "+r.Name, func(t *testing.T) { replay(t, chk, l.base, r) })
	}
}
