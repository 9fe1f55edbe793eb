package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// Guards, documented on each route by openapi.Secure.
var (
	signedIn   = auth.Guard{} // any valid, unrevoked token of an active user
	postWriter = auth.RequireScopes("posts:write")
	admin      = auth.RequireRoles(RoleAdmin)
)

// newServer builds the HTTP server from the settings (cfg.ServerConfig):
// Gantry's default stack with MAX_BODY_SIZE as the body limit, then on
// every /api route the optional authentication (a bearer token is verified
// when present; guards require one) and the per-client rate limit (per
// user when authenticated, else per address), which stands in for the
// server-wide one. The auth routes add a stricter per-address limit and
// the upload route raises the body limit, each on the route itself.
// While the database cannot be reached, crud's stores return
// crud.ErrUnavailable, which the server answers with 503 and Retry-After.
// Sessions live in Redis when it is configured; they carry the sign-in of
// the admin area, whose jobs dashboard (/admin/jobs, see routesAdmin) has
// an OpenAPI document of its own beside v1's and v2's. Every piece logs to
// the app's logger.
func (a *app) newServer() (*server.Server, error) {
	cfg := a.cfg
	reg := health.New(health.Config{Production: cfg.IsProduction(), Logger: a.log})
	if a.db != nil {
		reg.Register("database", health.SQL(a.db))
	}
	if a.rdb != nil {
		reg.Register("redis", health.Redis(a.rdb))
	}
	if a.inspect != nil {
		reg.Register("job_backlog", health.CheckerFunc(a.checkBacklog), health.Critical(false))
	}

	var err error
	scfg := cfg.ServerConfig()
	scfg.Logger = a.log
	scfg.Health = reg
	scfg.Reporter = a.errorReporter() // 5xx and panics, when SENTRY_DSN is set
	// The API limits per user after authentication (perClient below), so
	// the server-wide limit by address is off.
	scfg.RateLimit = nil
	if a.rdb != nil && scfg.Sessions != nil {
		if scfg.Sessions.Store, err = middleware.NewRedisSessionStore(a.rdb, cfg.RedisKeyPrefix+"session:"); err != nil {
			return nil, err
		}
	}
	scfg.Middleware = server.MiddlewareConfig{
		Registerer:     a.registry,
		Gatherer:       a.registry,
		TracerProvider: a.tracer, // nil without TRACING_ENABLED: no tracing in the stack
		Subject: func(c echo.Context) string {
			if p, ok := auth.PrincipalFrom(c); ok {
				return p.Subject
			}
			return ""
		},
	}
	srv, err := server.New(scfg)
	if err != nil {
		return nil, err
	}
	e := srv.Echo()
	// Open event streams end when the drain begins (taskEvents): clients
	// reconnect, with their Last-Event-ID, to an instance still serving.
	drained := make(chan struct{})
	var drainOnce sync.Once
	srv.OnDrain(func(bool) { drainOnce.Do(func() { close(drained) }) })
	a.drained = drained

	authn, err := auth.JWTConfig{
		Tokens:  a.tokens,
		Users:   auth.UserLoaderFunc(a.loadUser),
		Skipper: func(c echo.Context) bool { return c.Request().Header.Get(echo.HeaderAuthorization) == "" },
	}.ToMiddleware()
	if err != nil {
		return nil, err
	}
	// srv.RateLimit gives the limiters the server's logger and registry, so
	// their fallbacks are logged as JSON and counted on /metrics.
	perClient, err := srv.RateLimit(middleware.RateLimitConfig{
		Store:   a.limits,
		Limit:   middleware.Limit{Rate: cfg.RateLimitRequests, Period: cfg.RateLimitWindow},
		Name:    "api",
		Logger:  a.log,
		KeyFunc: middleware.KeyBySubject(func(c echo.Context) string { p, _ := auth.PrincipalFrom(c); return subjectOf(p) }),
	})
	if err != nil {
		return nil, err
	}
	perAddress, err := srv.RateLimit(middleware.RateLimitConfig{
		Store:  a.limits,
		Limit:  middleware.Limit{Rate: cfg.AuthRateLimitRequests, Period: cfg.AuthRateLimitWindow},
		Name:   "auth",
		Logger: a.log,
		Policy: middleware.FailClosed, // credential stuffing must not pass when Redis is down
	})
	if err != nil {
		return nil, err
	}
	// Creating routes answer a retried request with the same
	// Idempotency-Key once (per user, else per address), across instances
	// when the records are in Redis.
	idemStore, err := a.idempotencyStore()
	if err != nil {
		return nil, err
	}
	idem, err := middleware.IdempotencyConfig{
		Store:      idemStore,
		Name:       "api",
		Subject:    func(c echo.Context) string { p, _ := auth.PrincipalFrom(c); return subjectOf(p) },
		Logger:     a.log,
		Registerer: a.registry,
	}.ToMiddleware()
	if err != nil {
		return nil, err
	}
	// A multipart upload carries the file (MAX_FILE_SIZE) and a little
	// more; this route's cap replaces MAX_BODY_SIZE for it.
	uploadLimit, err := middleware.BodyLimitConfig{Limit: cfg.MaxFileSize + 1<<20}.ToMiddleware()
	if err != nil {
		return nil, err
	}

	info := openapi.Config{Title: cfg.ProjectName, Version: cfg.Version, Description: cfg.Description, Errors: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}}
	v1, err := openapi.New(e, cfg.APIV1Prefix, info)
	if err != nil {
		return nil, err
	}
	v2, err := openapi.New(e, cfg.APIV2Prefix, info)
	if err != nil {
		return nil, err
	}
	for _, api := range []*openapi.API{v1, v2} {
		api.Echo().Use(authn, perClient)
	}
	a.routesV1(v1, perAddress, uploadLimit, idempotent(idem))
	a.routesV2(v2)
	jobsAPI, err := a.routesAdmin(e, info, srv.Sessions(), authn, perAddress, perClient)
	if err != nil {
		return nil, err
	}
	if err := cfg.DocsConfig().Mount(e, v1, v2, jobsAPI); err != nil {
		return nil, err
	}
	return srv, nil
}

// readsToken documents what the authentication in front of every /api
// route does: a bearer token is read wherever one is sent (public routes
// answer differently to its user: an author's drafts, an admin's view) and
// a bad one answers 401 rather than being ignored, so a client with an
// expired token hears it at once instead of silently seeing less.
var readsToken = openapi.OptionalSecurity("bearer")

// idempotent returns the options of a route that honours Idempotency-Key:
// the middleware and its documentation (the header, and 409 for a repeat
// while the first runs, 422 for a key reused on another request). Give
// them after the route's guard, so a refused request stores nothing.
func idempotent(mw echo.MiddlewareFunc) []openapi.Option {
	return []openapi.Option{
		openapi.Middleware(mw),
		openapi.HeaderParameter(openapi.Parameter{
			Name: middleware.IdempotencyKeyHeader,
			Description: "A key unique to this operation: a retry with the same key and request is answered once, " +
				"with the first response and " + middleware.IdempotentReplayedHeader + ": true, for 24 hours.",
			Schema: &openapi.Schema{Type: "string", MinLength: new(1), MaxLength: new(255), Pattern: `^[ -~]+$`},
		}),
		openapi.Errors(http.StatusConflict, http.StatusUnprocessableEntity),
	}
}

// with returns opts followed by more.
func with(opts []openapi.Option, more ...openapi.Option) []openapi.Option {
	return append(slices.Clone(opts), more...)
}

func (a *app) routesV1(v1 *openapi.API, perAddress, uploadLimit echo.MiddlewareFunc, idem []openapi.Option) {
	v1 = v1.Group("", readsToken)
	limited := openapi.Middleware(perAddress)
	authTag, usersTag, postsTag, tasksTag := openapi.Tags("auth"), openapi.Tags("users"), openapi.Tags("posts"), openapi.Tags("tasks")

	openapi.Post(v1, "/auth/register", a.register, authTag, limited, openapi.Status(http.StatusCreated),
		openapi.Summary("Register a user"), openapi.Errors(http.StatusConflict))
	openapi.Post(v1, "/auth/login", a.login, authTag, limited, openapi.Summary("Log in: an access and a refresh token"),
		openapi.Errors(http.StatusUnauthorized))
	openapi.Post(v1, "/auth/refresh", a.refresh, authTag, limited, openapi.Summary("Trade a refresh token for a new pair (rotation)"),
		openapi.Errors(http.StatusUnauthorized))
	openapi.Post(v1, "/auth/logout", a.logout, authTag, openapi.Secure(signedIn), openapi.Summary("Revoke this token and its refresh family"))
	openapi.Post(v1, "/auth/logout-all", a.logoutAll, authTag, openapi.Secure(signedIn), openapi.Summary("Revoke every token of the user"))

	openapi.Get(v1, "/users/me", a.me, usersTag, openapi.Secure(signedIn), openapi.Summary("The current user"))
	openapi.Patch(v1, "/users/me", a.updateMe, usersTag, openapi.Secure(signedIn), openapi.Summary("Update full name, bio or email"),
		openapi.Errors(http.StatusConflict))
	openapi.Put(v1, "/users/me/password", a.changePassword, usersTag, openapi.Secure(signedIn),
		openapi.Summary("Change the password; older tokens are revoked and a new pair returned"))
	openapi.Get(v1, "/users", a.listUsers, usersTag, openapi.Secure(admin), openapi.Summary("List users (admin)"))
	openapi.Patch(v1, "/users/{id}", a.updateUser, usersTag, openapi.Secure(admin), openapi.Summary("Set a user's role or active flag (admin); not one's own, nor deactivate the last active superuser"),
		openapi.Errors(http.StatusNotFound, http.StatusConflict))
	openapi.Delete(v1, "/users/{id}", a.deleteUser, usersTag, openapi.Secure(admin), openapi.Summary("Soft-delete a user (admin); not oneself, nor the last active superuser"),
		openapi.Errors(http.StatusNotFound, http.StatusConflict))

	openapi.Get(v1, "/posts", a.listPostsV1, postsTag, openapi.Summary("List posts with filters, sort and offset pages"))
	createPost := append([]openapi.Option{postsTag, openapi.Secure(postWriter)}, idem...)
	openapi.Post(v1, "/posts", a.createPost, with(createPost, openapi.Status(http.StatusCreated), openapi.Summary("Create a post"))...)
	openapi.Get(v1, "/posts/{id}", a.getPost, postsTag, openapi.Summary("Get a post"), openapi.Errors(http.StatusNotFound))
	openapi.Patch(v1, "/posts/{id}", a.updatePost, postsTag, openapi.Secure(signedIn), openapi.Summary("Update a post (author or admin)"),
		openapi.Errors(http.StatusNotFound, http.StatusConflict))
	openapi.Delete(v1, "/posts/{id}", a.deletePost, postsTag, openapi.Secure(signedIn), openapi.Summary("Soft-delete a post (author or admin)"),
		openapi.Errors(http.StatusNotFound))
	openapi.Post(v1, "/posts/{id}/restore", a.restorePost, postsTag, openapi.Secure(admin), openapi.Summary("Restore a deleted post (admin)"),
		openapi.Errors(http.StatusNotFound))

	a.routesFiles(v1, uploadLimit, idem)

	// every task POST: signed in, idempotent, 202
	task := append([]openapi.Option{tasksTag, openapi.Secure(signedIn), openapi.Status(http.StatusAccepted)}, idem...)
	openapi.Post(v1, "/tasks/send-email", a.taskSendEmail, with(task, openapi.Summary("Send an email in the background"))...)
	openapi.Post(v1, "/tasks/send-bulk-email", a.taskSendBulkEmail, with(task,
		openapi.Summary("Send one email per address, each its own task"))...)
	openapi.Post(v1, "/tasks/process-image", a.taskProcessImage, with(task,
		openapi.Summary("Process an uploaded image"), openapi.Errors(http.StatusNotFound, http.StatusUnsupportedMediaType))...)
	openapi.Post(v1, "/tasks/reports/users", a.taskUserReport, with(task,
		openapi.Summary("Build the sign-ups and posts workbook of a date range"))...)
	openapi.Get(v1, "/tasks/{task_id}", a.taskStatus, tasksTag, openapi.Secure(signedIn), openapi.Summary("A task's state, progress and result"),
		openapi.Errors(http.StatusNotFound))
	openapi.Get(v1, "/tasks/{task_id}/events", a.taskEvents, tasksTag, openapi.Secure(signedIn), openapi.Summary("A task's state changes and progress as server-sent events"),
		openapi.Errors(http.StatusNotFound))
}

func (a *app) routesV2(v2 *openapi.API) {
	v2 = v2.Group("", readsToken)
	openapi.Get(v2, "/posts", a.listPostsV2, openapi.Tags("posts"), openapi.Summary("List posts with cursor pages"))
}

func subjectOf(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	return p.Subject
}

// checkBacklog is degraded (not failing readiness) when jobs pile up.
func (a *app) checkBacklog(ctx context.Context) error {
	var pending int64
	for _, q := range queueNames {
		s, err := a.inspect.Sizes(ctx, q)
		if err != nil {
			return err
		}
		pending += s.Pending
	}
	if pending > 10000 {
		return fmt.Errorf("%d jobs pending", pending)
	}
	return nil
}

var _ jobs.Enqueuer = (*jobs.Client)(nil)
