package main

// The admin area (/admin) is for active superusers. A person signs in at
// /admin/login with a username and password and gets a session cookie
// (server.Server.Sessions: HttpOnly, SameSite=Lax, Secure in production,
// the data in Redis when REDIS_URL is set); a program sends a bearer token
// of an admin to the JSON API under /admin/jobs/api instead. Every
// state-changing request that rides on the cookie carries the session's
// CSRF token.

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
)

// Paths of the admin area.
const (
	adminRoot    = "/admin"
	adminLogin   = "/admin/login"
	adminLogout  = "/admin/logout"
	adminJobs    = "/admin/jobs"
	adminHome    = "/admin/jobs/" // the dashboard's overview
	adminJobsAPI = "/admin/jobs/api"
)

// Session keys of the admin area.
const (
	sessionAdmin = "admin_user" // id of the signed-in superuser
	sessionCSRF  = "csrf"       // the session's CSRF token
)

// csrfHeader and csrfField carry the CSRF token: the header for scripts,
// the field for HTML forms.
const (
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf_token"
)

// Errors of the admin area, answered in the error envelope.
var (
	// errCSRF refuses a state-changing request on the session cookie
	// without the session's CSRF token.
	errCSRF = server.NewError(http.StatusForbidden, "missing or invalid CSRF token: send the "+csrfHeader+
		" header or the "+csrfField+" form field of the page").WithType("invalid_csrf_token")
	// errSessionStore answers a request whose session could not be read
	// or written (Redis down): signed-in people are not sent to the
	// sign-in page, and nobody is signed in or out, until it is back.
	errSessionStore = server.NewError(http.StatusServiceUnavailable, "sessions are unavailable; retry shortly").WithType("service_unavailable")
	// errSignInOff answers the sign-in routes when the server has no
	// sessions (SECRET_KEY shorter than 32 bytes).
	errSignInOff = server.NewError(http.StatusServiceUnavailable, "admin sign-in needs a SECRET_KEY of at least 32 bytes").WithType("sign_in_unavailable")
)

// errSignIn is the one answer to every refused sign-in: a wrong password,
// an unknown, inactive or deleted account, and an account that is not a
// superuser alike, so the page tells nobody which accounts exist or may
// administer the service.
const errSignIn = "Wrong username or password, or this account may not sign in here."

// adminGate signs superusers in and out and guards the admin area.
type adminGate struct {
	a        *app
	sessions *middleware.Sessions // nil: sign-in is off
	bearer   echo.MiddlewareFunc  // verifies a bearer token (the API's authentication)
	log      *slog.Logger
}

// newAdminGate returns the gate on the server's sessions (nil turns the
// sign-in off: only bearer tokens reach the JSON API) with bearer, the
// authentication the API routes use.
func (a *app) newAdminGate(sessions *middleware.Sessions, bearer echo.MiddlewareFunc) *adminGate {
	if sessions == nil {
		a.log.Warn("admin sign-in is off: SECRET_KEY is shorter than 32 bytes, so the server has no sessions")
	}
	return &adminGate{a: a, sessions: sessions, bearer: bearer, log: a.log}
}

// mount registers the sign-in and sign-out routes on e, limited (the
// per-address limit of the API's login) on POST /admin/login. GET /admin
// leads to the dashboard. The area under /admin/jobs installs guard.
func (g *adminGate) mount(e *echo.Echo, limited echo.MiddlewareFunc) {
	e.GET(adminRoot, func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, adminHome) })
	e.GET(adminLogin, g.loginPage)
	e.POST(adminLogin, g.login, limited)
	e.GET(adminLogout, g.logoutPage)
	e.POST(adminLogout, g.logout)
}

// ---- Sessions and CSRF ----

// session returns the request's session, or errSignInOff.
func (g *adminGate) session(c echo.Context) (*middleware.Session, error) {
	if g.sessions == nil {
		return nil, errSignInOff
	}
	s, err := g.sessions.Get(c)
	return s, storeErr(err)
}

// storeErr is errSessionStore with err as its cause, or nil.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	return errSessionStore.Wrap(err)
}

// signedIn returns the superuser the request's session belongs to, or nil
// when the session names nobody or someone who may no longer administer
// (deleted, deactivated, demoted): each request looks the user up, so
// taking a superuser's rights away ends their sessions at once.
func (g *adminGate) signedIn(c echo.Context) (*User, *middleware.Session, error) {
	if g.sessions == nil {
		return nil, nil, nil
	}
	s, err := g.sessions.Get(c)
	if err != nil {
		return nil, nil, storeErr(err)
	}
	id, err := strconv.ParseInt(s.Get(sessionAdmin), 10, 64)
	if err != nil {
		return nil, s, nil
	}
	u, err := g.a.users.Get(c.Request().Context(), id)
	if errors.Is(err, crud.ErrNotFound) {
		return nil, s, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.Active || !u.Superuser {
		return nil, s, nil
	}
	return &u, s, nil
}

// newCSRFToken returns 32 random bytes, base64url.
func newCSRFToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// csrfToken returns the session's CSRF token, giving the session one (and
// saving it) when it has none yet.
func (g *adminGate) csrfToken(c echo.Context, s *middleware.Session) (string, error) {
	if tok := s.Get(sessionCSRF); tok != "" {
		return tok, nil
	}
	tok := newCSRFToken()
	s.Set(sessionCSRF, tok)
	return tok, storeErr(g.sessions.Save(c, s))
}

// checkCSRF compares, in constant time, the token the request carries (the
// X-CSRF-Token header, or the csrf_token field of a form body, never the
// query string) with its session's.
func checkCSRF(c echo.Context, s *middleware.Session) error {
	want := ""
	if s != nil {
		want = s.Get(sessionCSRF)
	}
	got := c.Request().Header.Get(csrfHeader)
	if got == "" {
		ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
		if ct == echo.MIMEApplicationForm || ct == echo.MIMEMultipartForm {
			got = c.Request().PostFormValue(csrfField)
		}
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// safeMethod reports whether m changes nothing (no CSRF token needed).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// ---- The guard ----

// isAdminAPI reports whether p is under the JSON API of the dashboard.
func isAdminAPI(p string) bool { return p == adminJobsAPI || strings.HasPrefix(p, adminJobsAPI+"/") }

// guard lets through an active superuser signed in with the session cookie
// (state-changing requests also need the session's CSRF token: 403
// otherwise) and, on the JSON API, a request with a bearer token that the
// app's admin guard accepts. A bearer request is judged by its token alone:
// a cookie it also carries is ignored, so it needs no CSRF token (a page of
// another site cannot make a browser send an Authorization header). Signed
// out, a page (GET or HEAD) redirects to the sign-in page with next set to
// it, and anything else answers 401 in the envelope.
//
// The request's context then carries an auth.Principal of the user, so the
// dashboard, the access log and the rate limit see who acts.
func (g *adminGate) guard(next echo.HandlerFunc) echo.HandlerFunc {
	viaBearer := g.bearer(admin.Middleware()(next))
	return func(c echo.Context) error {
		req := c.Request()
		api := isAdminAPI(req.URL.Path)
		if api && req.Header.Get(echo.HeaderAuthorization) != "" {
			return viaBearer(c)
		}
		u, s, err := g.signedIn(c)
		if err != nil {
			return err
		}
		if u == nil {
			if !api && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
				return c.Redirect(http.StatusSeeOther, adminLogin+"?next="+url.QueryEscape(req.URL.RequestURI()))
			}
			auth.WriteHeaders(c, auth.ErrMissingToken)
			return auth.ErrMissingToken
		}
		if !safeMethod(req.Method) {
			if err := checkCSRF(c, s); err != nil {
				return err
			}
		}
		p := &auth.Principal{Subject: u.subject(), Roles: u.roles(), Superuser: true, User: *u}
		c.SetRequest(req.WithContext(auth.NewContext(req.Context(), p)))
		return next(c)
	}
}

// adminActor names who acts on the dashboard, for its log of actions: the
// superuser of the session or the admin of the bearer token.
func adminActor(c echo.Context) string {
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return ""
	}
	if u, ok := p.User.(User); ok {
		return "user " + u.subject() + " <" + u.Email + ">"
	}
	return "user " + p.Subject
}

// csrfFor returns the CSRF token the dashboard's pages send back with
// their actions: the session's, or "" on a bearer request.
func (g *adminGate) csrfFor(c echo.Context) string {
	if g.sessions == nil || c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		return ""
	}
	s, err := g.sessions.Get(c) // cached on the context by the guard
	if err != nil {
		return ""
	}
	return s.Get(sessionCSRF)
}

// ---- Sign-in and sign-out ----

// safeNext returns raw when it is a local path in the admin area (the
// only places a sign-in may lead back to), else the dashboard. It
// refuses anything a browser could read as another host: a scheme or host,
// "//" or a backslash at the start, control characters (browsers drop tabs
// and newlines, turning "/\t/evil" into "//evil"), and paths that leave
// /admin once dot segments are resolved.
func safeNext(raw string) string {
	if ok := localAdminPath(raw); !ok {
		return adminHome
	}
	return raw
}

func localAdminPath(raw string) bool {
	if len(raw) == 0 || len(raw) > 2048 || raw[0] != '/' || strings.HasPrefix(raw, "//") {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.Path
	if strings.HasSuffix(p, "/") && len(p) > 1 {
		p = p[:len(p)-1]
	}
	if path.Clean(p) != p {
		return false
	}
	return p == adminRoot || strings.HasPrefix(p, adminRoot+"/")
}

// loginPage is GET /admin/login: the form, with the session's CSRF token
// (a visitor gets a session here, so the sign-in itself is protected). A
// signed-in superuser goes straight on.
func (g *adminGate) loginPage(c echo.Context) error {
	u, s, err := g.signedIn(c)
	if err != nil {
		return err
	}
	if s == nil {
		return errSignInOff
	}
	next := safeNext(c.QueryParam("next"))
	if u != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	tok, err := g.csrfToken(c, s)
	if err != nil {
		return err
	}
	return renderLogin(c, http.StatusOK, loginView{CSRF: tok, Next: next, Title: g.a.cfg.ProjectName})
}

// login is POST /admin/login. It checks the CSRF token, then the password
// through the app's Authenticator (the per-account lockout and the
// hasher's limits apply as on /api/v1/auth/login), then that the account is
// an active superuser. Success renews the session id (a session planted
// before sign-in is worthless after it) with a new CSRF token and leads to
// next; every refusal shows the same message with 401.
func (g *adminGate) login(c echo.Context) error {
	s, err := g.session(c)
	if err != nil {
		return err
	}
	if err := checkCSRF(c, s); err != nil {
		return err
	}
	form := c.Request().PostFormValue // never the query string: no password in a URL
	next := safeNext(form("next"))
	name, password := form("username"), form("password")
	view := loginView{CSRF: s.Get(sessionCSRF), Next: next, Username: name, Title: g.a.cfg.ProjectName}
	if name == "" || password == "" || len(name) > 254 || len(password) > 1024 {
		view.Error = errSignIn
		return renderLogin(c, http.StatusUnauthorized, view)
	}
	ctx := c.Request().Context()
	u, err := g.a.authenticator().Authenticate(ctx, name, password)
	if err == nil && (!u.Active || !u.Superuser) {
		err = auth.ErrInvalidCredentials
	}
	var ae *server.Error
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrInvalidCredentials):
		g.log.LogAttrs(ctx, slog.LevelWarn, "admin sign-in refused", slog.String("account", name), slog.String("address", c.RealIP()))
		view.Error = errSignIn
		return renderLogin(c, http.StatusUnauthorized, view)
	case errors.As(err, &ae) && (ae.HTTPStatus() == http.StatusTooManyRequests || ae.HTTPStatus() == http.StatusServiceUnavailable):
		auth.WriteHeaders(c, err) // Retry-After
		view.Error = ae.PublicMessage()
		return renderLogin(c, ae.HTTPStatus(), view)
	default:
		return err
	}
	s.Set(sessionAdmin, u.subject())
	s.Set(sessionCSRF, newCSRFToken())
	if err := g.sessions.Renew(c, s); err != nil {
		return storeErr(err)
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "admin signed in", slog.String("user", u.subject()), slog.String("email", u.Email), slog.String("address", c.RealIP()))
	return c.Redirect(http.StatusSeeOther, next)
}

// logoutPage is GET /admin/logout: a button that posts the sign-out with
// the session's CSRF token (a link cannot sign anyone out: a GET changes
// nothing). Signed out, it leads to the sign-in page.
func (g *adminGate) logoutPage(c echo.Context) error {
	u, s, err := g.signedIn(c)
	if err != nil {
		return err
	}
	if u == nil {
		return c.Redirect(http.StatusSeeOther, adminLogin)
	}
	return renderLogin(c, http.StatusOK, loginView{CSRF: s.Get(sessionCSRF), Title: g.a.cfg.ProjectName, SignedIn: u.Username})
}

// logout is POST /admin/logout: with the CSRF token, it destroys the
// session (its id is deleted from the store: a copy of the cookie is
// worthless afterwards) and leads to the sign-in page.
func (g *adminGate) logout(c echo.Context) error {
	u, s, err := g.signedIn(c)
	if err != nil {
		return err
	}
	if s == nil {
		return errSignInOff
	}
	if err := checkCSRF(c, s); err != nil {
		return err
	}
	if err := g.sessions.Destroy(c, s); err != nil {
		return storeErr(err)
	}
	if u != nil {
		g.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "admin signed out", slog.String("user", u.subject()), slog.String("email", u.Email))
	}
	return c.Redirect(http.StatusSeeOther, adminLogin)
}

// ---- The sign-in page ----

// loginView is the sign-in page, or with SignedIn the sign-out page.
type loginView struct {
	Title, CSRF, Next, Username, Error string
	SignedIn                           string
}

// adminPageCSP allows the page its own inline style and nothing else: no
// script, no other host, no framing, forms only to this origin.
const adminPageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func renderLogin(c echo.Context, status int, v loginView) error {
	var b strings.Builder
	if err := loginTemplate.Execute(&b, v); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", adminPageCSP)
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.HTML(status, b.String())
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · {{.Title}} admin</title>
<style>
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --fg: #1c2330; --muted: #5b6475; --line: #d6dae1; --accent: #2557d6; --bad: #b42318; }
@media (prefers-color-scheme: dark) { :root { --bg: #12151b; --card: #1b2029; --fg: #e6e9ef; --muted: #9aa3b2; --line: #2e3543; --accent: #6d95ff; --bad: #ff8a7a; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { width: min(380px, calc(100vw - 32px)); background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 28px 28px 24px; box-shadow: 0 8px 30px rgba(0,0,0,.06); }
h1 { font-size: 20px; margin: 0 0 4px; }
p.sub { margin: 0 0 20px; color: var(--muted); font-size: 14px; }
label { display: block; font-weight: 600; font-size: 13px; margin: 14px 0 6px; }
input[type=text], input[type=password] { width: 100%; padding: 9px 11px; font: inherit; color: inherit; background: transparent; border: 1px solid var(--line); border-radius: 8px; }
input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
button { width: 100%; margin-top: 22px; padding: 10px; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
p.back { margin: 16px 0 0; text-align: center; } a { color: var(--accent); }
.error { margin: 0 0 6px; padding: 10px 12px; border: 1px solid var(--bad); border-radius: 8px; color: var(--bad); font-size: 14px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}} admin</h1>
{{if .SignedIn -}}
<p class="sub">Signed in as <strong>{{.SignedIn}}</strong>.</p>
<form method="post" action="/admin/logout" id="logout-form">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit">Sign out</button>
</form>
<p class="sub back"><a href="/admin/jobs/">Back to the jobs</a></p>
{{- else -}}
<p class="sub">Sign in with a superuser account.</p>
{{if .Error}}<p class="error" role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/admin/login" id="login-form">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{- end}}
</main>
</body>
</html>
`))
