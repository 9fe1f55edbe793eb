package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
	"github.com/labstack/echo/v4"
)

// testUser is the app's user in these tests.
type testUser struct {
	ID        string
	Account   string
	Hash      string
	Active    bool
	Superuser bool
}

func (u *testUser) IsActive() bool    { return u.Active }
func (u *testUser) IsSuperuser() bool { return u.Superuser }

// userDB is an in-memory user table that counts its lookups.
type userDB struct {
	mu      sync.Mutex
	byAcct  map[string]*testUser
	byID    map[string]*testUser
	lookups atomic.Int64
}

func newUserDB() *userDB {
	return &userDB{byAcct: map[string]*testUser{}, byID: map[string]*testUser{}}
}

func (d *userDB) add(u *testUser) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byAcct[u.Account] = u
	d.byID[u.ID] = u
}

func (d *userDB) LoadUser(_ context.Context, subject string) (auth.User, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.byID[subject]
	if !ok {
		return nil, auth.ErrUserNotFound
	}
	cp := *u
	return &cp, nil
}

func (d *userDB) lookup(_ context.Context, account string) (*testUser, string, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.byAcct[account]
	if !ok {
		return nil, "", auth.ErrUserNotFound
	}
	return u, u.Hash, nil
}

// countingStore wraps a Store and counts calls.
type countingStore struct {
	auth.Store
	calls atomic.Int64
}

func (s *countingStore) Check(ctx context.Context, ref auth.TokenRef) error {
	s.calls.Add(1)
	return s.Store.Check(ctx, ref)
}

func (s *countingStore) Consume(ctx context.Context, ref auth.TokenRef) error {
	s.calls.Add(1)
	return s.Store.Consume(ctx, ref)
}

// testApp is an echo app on server.New with the auth middleware, the
// guards and login/refresh/logout handlers, as an app would wire them.
type testApp struct {
	URL     string
	Tokens  *auth.Tokens
	Clock   *authtest.Clock
	Users   *userDB
	Store   *countingStore
	Hasher  *auth.Hasher
	Limiter *auth.LoginLimiter
}

type appOptions struct {
	tokens    auth.TokensConfig // Store, Now and Users are filled in
	store     auth.Store        // default memory
	hasher    auth.HasherConfig // default bcrypt cost 4
	limiter   auth.LoginLimiterConfig
	useLoader bool
}

var testStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestApp(tb testing.TB, o appOptions) *testApp {
	tb.Helper()
	a := &testApp{Clock: authtest.NewClock(testStart), Users: newUserDB()}
	if o.store == nil {
		o.store = auth.NewMemoryStore()
	}
	a.Store = &countingStore{Store: o.store}
	cfg := o.tokens
	cfg.Store = a.Store
	if cfg.Now == nil {
		cfg.Now = a.Clock.Now
	}
	if o.useLoader {
		cfg.Users = a.Users
	}
	a.Tokens = authtest.NewTokens(tb, cfg)
	if o.hasher.BcryptCost == 0 {
		o.hasher.BcryptCost = 4
	}
	if o.hasher.Algorithm == auth.Argon2id && o.hasher.Argon2.Memory == 0 {
		o.hasher.Argon2 = auth.Argon2Params{Memory: 1024, Iterations: 1}
	}
	var err error
	if a.Hasher, err = auth.NewHasher(o.hasher); err != nil {
		tb.Fatal(err)
	}
	if a.Limiter, err = auth.NewLoginLimiter(o.limiter); err != nil {
		tb.Fatal(err)
	}
	authn := &auth.Authenticator[*testUser]{Hasher: a.Hasher, Limiter: a.Limiter, Lookup: a.Users.lookup}

	srv, err := server.New(server.Config{
		Logger:         slog.New(slog.DiscardHandler),
		MaxHeaderBytes: 2 << 20,
		Now:            a.Clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e := srv.Echo()
	mwCfg := auth.JWTConfig{Tokens: a.Tokens}
	if o.useLoader {
		mwCfg.Users = a.Users
	}
	mw, err := mwCfg.ToMiddleware()
	if err != nil {
		tb.Fatal(err)
	}
	e.POST("/login", func(c echo.Context) error {
		var in struct{ Account, Password string }
		if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "bad json")
		}
		u, err := authn.Authenticate(c.Request().Context(), in.Account, in.Password)
		if err != nil {
			auth.WriteHeaders(c, err)
			return err
		}
		var roles []string
		if u.Superuser {
			roles = []string{auth.RoleSuperuser}
		}
		p, err := a.Tokens.IssuePair(c.Request().Context(), u.ID, []string{"posts:read"}, roles)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	e.POST("/refresh", func(c echo.Context) error {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "bad json")
		}
		p, err := a.Tokens.Refresh(c.Request().Context(), in.RefreshToken)
		if err != nil {
			auth.WriteHeaders(c, err)
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	g := e.Group("", mw)
	g.GET("/me", func(c echo.Context) error {
		p, ok := auth.PrincipalFrom(c)
		if !ok {
			return errors.New("no principal")
		}
		return c.JSON(http.StatusOK, map[string]any{"sub": p.Subject, "scopes": p.Scopes, "superuser": p.Superuser})
	})
	g.POST("/logout", func(c echo.Context) error {
		p, _ := auth.PrincipalFrom(c)
		if err := a.Tokens.Revoke(c.Request().Context(), p.Claims); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	g.POST("/logout-all", func(c echo.Context) error {
		p, _ := auth.PrincipalFrom(c)
		if err := a.Tokens.RevokeAllForUser(c.Request().Context(), p.Subject); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	g.GET("/posts", ok, auth.RequireScopes("posts:read", "posts:write").Middleware())
	g.GET("/any", ok, auth.RequireAnyScope("a", "b").Middleware())
	g.GET("/editor", ok, auth.RequireRoles("editor").Middleware())
	g.GET("/admin", ok, auth.RequireSuperuser().Middleware())
	e.GET("/unprotected-guard", ok, auth.RequireScopes("x").Middleware())

	a.URL = servertest.Start(tb, srv)
	return a
}

// response is what the tests look at.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Env    struct {
		Error struct {
			Code    int    `json:"code"`
			Type    string `json:"type"`
			Message string `json:"message"`
			Details any    `json:"details"`
		} `json:"error"`
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func (a *testApp) do(tb testing.TB, method, path, token string, body any) *response {
	tb.Helper()
	return a.doWith(tb, httpClient, method, path, token, body)
}

func (a *testApp) doWith(tb testing.TB, client *http.Client, method, path, token string, body any) *response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := &response{Status: res.StatusCode, Header: res.Header}
	r.Body, _ = io.ReadAll(res.Body)
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(r.Body, &r.Env); err != nil {
			tb.Errorf("%s %s: error body is not the envelope: %s", method, path, r.Body)
		}
	}
	return r
}

func (a *testApp) addUser(tb testing.TB, id, account, password string) *testUser {
	tb.Helper()
	h, err := a.Hasher.Hash(password)
	if err != nil {
		tb.Fatal(err)
	}
	u := &testUser{ID: id, Account: account, Hash: h, Active: true}
	a.Users.add(u)
	return u
}

func (a *testApp) login(tb testing.TB, account, password string) auth.Pair {
	tb.Helper()
	r := a.do(tb, http.MethodPost, "/login", "", map[string]string{"account": account, "password": password})
	if r.Status != http.StatusOK {
		tb.Fatalf("login %s = %d %s; want 200", account, r.Status, r.Body)
	}
	var p auth.Pair
	if err := json.Unmarshal(r.Body, &p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (a *testApp) refresh(tb testing.TB, rt string) (*response, auth.Pair) {
	tb.Helper()
	r := a.do(tb, http.MethodPost, "/refresh", "", map[string]string{"refresh_token": rt})
	var p auth.Pair
	if r.Status == http.StatusOK {
		_ = json.Unmarshal(r.Body, &p)
	}
	return r, p
}

// clientFrom returns an HTTP client whose connections come from ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// testKeys is a mixed key set: Ed25519 signs; RSA and HMAC verify too.
type testKeys struct {
	ed     ed25519.PrivateKey
	rsa    *rsa.PrivateKey
	hmac   []byte
	keys   []auth.Key
	edPub  ed25519.PublicKey
	rsaPub *rsa.PublicKey
}

var (
	keysOnce   sync.Once
	sharedKeys testKeys
)

func mixedKeys(tb testing.TB) testKeys {
	tb.Helper()
	keysOnce.Do(func() {
		k := &sharedKeys
		_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
		k.edPub = k.ed.Public().(ed25519.PublicKey)
		var err error
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		k.rsaPub = &k.rsa.PublicKey
		k.hmac = []byte("an-hmac-secret-of-at-least-32-bytes!!")
		ed, _ := auth.NewEd25519Key("ed1", k.ed)
		rs, _ := auth.NewRSAKey("rs1", k.rsa)
		hs, _ := auth.NewHMACKey("hs1", k.hmac)
		k.keys = []auth.Key{ed, rs, hs}
	})
	return sharedKeys
}
