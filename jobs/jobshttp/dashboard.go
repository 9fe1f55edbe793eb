package jobshttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/openapi"
)

// DashboardConfig configures a [Dashboard]. Only Inspector is required.
type DashboardConfig struct {
	// Inspector reads and manages the jobs (required).
	Inspector *jobs.Inspector
	// ReadOnly hides every action in the pages and makes the action
	// endpoints answer 403, for people who may look but not act.
	ReadOnly bool
	// Actor names who asks, for the log line every action writes (e.g. the
	// signed-in user's name). Default: the client's IP address.
	Actor func(c echo.Context) string
	// Logger receives one line per action (action, target, actor, result).
	// Default slog.Default().
	Logger *slog.Logger
	// Redact returns what the dashboard shows of a job's arguments, for
	// kinds or fields operators must not read; it must not modify payload.
	// [jobs.RedactFields] builds one from field names. Default: the arguments
	// are shown as stored. Results and errors (of jobs and of workflow
	// steps) are shown as stored.
	Redact func(kind string, payload json.RawMessage) json.RawMessage
	// CSRFToken, if set, returns the request's CSRF token: the pages carry
	// it in <meta name="csrf-token"> and their script sends it as the
	// X-CSRF-Token header with every action. The mounting service checks
	// it; the dashboard authenticates nothing itself.
	CSRFToken func(c echo.Context) string
	// Account, if set, names the signed-in account for the pages' header:
	// when label is not "", every page shows it with a sign-out button
	// that POSTs to signOutURL (with the CSRF token as the csrf_token form
	// field when CSRFToken is set). The mounting service serves that URL.
	Account func(c echo.Context) (label, signOutURL string)
	// Title heads every page. Default "Jobs".
	Title string
	// StatsMinutes is the window of the throughput charts and of the
	// processed and failed counts, in minutes (at most 60). Default 15.
	StatsMinutes int
	// RefreshInterval is how often the overview polls the queues while it
	// is open. Default 3 s; at least 1 s.
	RefreshInterval time.Duration
}

func (cfg DashboardConfig) withDefaults() DashboardConfig {
	if cfg.Actor == nil {
		cfg.Actor = func(c echo.Context) string { return c.RealIP() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Title == "" {
		cfg.Title = "Jobs"
	}
	if cfg.StatsMinutes <= 0 {
		cfg.StatsMinutes = 15
	}
	cfg.StatsMinutes = min(cfg.StatsMinutes, 60)
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 3 * time.Second
	}
	cfg.RefreshInterval = max(cfg.RefreshInterval, time.Second)
	return cfg
}

// Dashboard is the jobs dashboard: server-rendered pages (overview, queue,
// job, schedules, workers) and the JSON API they and scripts use, on an
// [jobs.Inspector]. Create it with [NewDashboard] and register it with
// [Dashboard.Mount]. It is safe for concurrent use.
type Dashboard struct {
	cfg   DashboardConfig
	insp  *jobs.Inspector
	pages *pages
}

// NewDashboard returns a Dashboard, or an error if cfg has no Inspector.
func NewDashboard(cfg DashboardConfig) (*Dashboard, error) {
	if cfg.Inspector == nil {
		return nil, errors.New("jobshttp: invalid dashboard config: nil Inspector")
	}
	cfg = cfg.withDefaults()
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	return &Dashboard{cfg: cfg, insp: cfg.Inspector, pages: p}, nil
}

// Mount registers the dashboard on api, under api's prefix (create api
// with openapi.New(e, "/admin/jobs", ...) or take a group of an existing
// one): the pages at "/", "/queues/{queue}", "/jobs/{id}", "/jobs?id=",
// "/workflows/{id}", "/workflows?id=", "/schedules" and "/workers", their assets under "/static/", and the
// JSON API under "/api", whose routes are documented in api's document.
// opts apply to every API route, e.g. openapi.Security("session") or
// openapi.Tags to document how the service guards them.
//
// The dashboard authenticates nothing: install the service's guard on
// api.Echo() (which also covers the pages) before calling Mount, since
// echo copies a group's middleware into its routes as they are added.
func (d *Dashboard) Mount(api *openapi.API, opts ...openapi.Option) {
	g := api.Echo()
	root := g.GET("/", d.overviewPage)
	prefix := strings.TrimSuffix(root.Path, "/")
	if prefix != "" {
		g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, prefix+"/") })
	}
	d.mountPages(g)
	d.mountAPI(api.Group("/api", append([]openapi.Option{openapi.Tags("jobs")}, opts...)...))
}

// ErrQueueNotFound is returned for a queue no job was ever enqueued to.
// HTTP 404.
var ErrQueueNotFound = apierror.New(http.StatusNotFound, "queue not found").WithType("not_found").WithOrigin("jobshttp")

// ErrReadOnly is returned by every action of a read-only dashboard.
// HTTP 403.
var ErrReadOnly = apierror.New(http.StatusForbidden, "the dashboard is read-only").WithType("read_only").WithOrigin("jobshttp")

// ErrUnavailable is returned when the jobs backend cannot be reached.
// HTTP 503.
var ErrUnavailable = apierror.New(http.StatusServiceUnavailable, "the jobs backend is unavailable; retry shortly").WithType("jobs_unavailable").WithOrigin("jobshttp")

// backendError maps an Inspector error to what the client sees: errors
// that carry a status (jobs.ErrNotFound, jobs.ErrFinished, a bad cursor)
// pass unchanged, a backend that cannot be reached is ErrUnavailable (503),
// anything else stays a 500 the server logs.
func backendError(err error) error {
	if err == nil {
		return nil
	}
	var hs apierror.HTTPStatuser
	if errors.As(err, &hs) {
		return err
	}
	if unreachable(err) {
		return ErrUnavailable.Wrap(err)
	}
	return err
}

// unreachable reports whether err says the backend could not be reached or
// dropped the connection, rather than refused a request.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, jobs.ErrClosed)
}

// queueExists answers ErrQueueNotFound for a queue the backend does not
// know.
func (d *Dashboard) queueExists(ctx context.Context, queue string) error {
	qs, err := d.insp.Queues(ctx)
	if err != nil {
		return backendError(err)
	}
	for _, q := range qs {
		if q == queue {
			return nil
		}
	}
	return ErrQueueNotFound
}

// act runs one action: refused when read-only, logged either way with
// who asked and how it ended.
func (d *Dashboard) act(ctx context.Context, action, target string, f func() (int, error)) (*ActionResult, error) {
	c := openapi.EchoContext(ctx)
	actor := ""
	if c != nil {
		actor = d.cfg.Actor(c)
	}
	attrs := []slog.Attr{
		slog.String("action", action),
		slog.String("target", target),
		slog.String("actor", actor),
	}
	if c != nil {
		if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
			attrs = append(attrs, slog.String("request_id", rid))
		}
	}
	if d.cfg.ReadOnly {
		d.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "jobs dashboard action", append(attrs, slog.String("result", "refused: read-only"))...)
		return nil, ErrReadOnly
	}
	n, err := f()
	if err != nil {
		err = backendError(err)
		d.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "jobs dashboard action", append(attrs, slog.String("result", "error"), slog.String("error", err.Error()))...)
		return nil, err
	}
	d.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "jobs dashboard action", append(attrs, slog.String("result", "ok"), slog.Int("affected", n))...)
	return &ActionResult{Action: action, Target: target, Affected: n}, nil
}

func (d *Dashboard) redact(kind string, payload json.RawMessage) json.RawMessage {
	if d.cfg.Redact == nil || len(payload) == 0 {
		return payload
	}
	return d.cfg.Redact(kind, payload)
}
