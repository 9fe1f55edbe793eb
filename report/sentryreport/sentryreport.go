package sentryreport

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/gantry-dev/gantry/report"
)

// Config configures a [Reporter]. Only DSN is required.
type Config struct {
	// DSN is the project's Sentry DSN, http(s)://publickey@host[:port]/projectid.
	// It is a secret: keep it out of logs.
	DSN string
	// Release names the running build, e.g. "1.4.2" or a commit hash.
	// Default: the main module's version from the build info.
	Release string
	// Environment is the deployment, e.g. "production". Default
	// "production", Sentry's own default.
	Environment string
	// SampleRate is the share of events sent, in (0, 1]. Zero means 1 (all).
	SampleRate float64
	// ServerName identifies this host or instance. Default: the host name.
	ServerName string
	// FlushTimeout bounds Close when its context has no earlier deadline.
	// Default 2s.
	FlushTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Release == "" {
		c.Release = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			c.Release = bi.Main.Version
		}
	}
	if c.Environment == "" {
		c.Environment = "production"
	}
	if c.SampleRate == 0 {
		c.SampleRate = 1
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 2 * time.Second
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if err := CheckDSN(c.DSN); err != nil {
		errs = append(errs, err)
	}
	if c.SampleRate < 0 || c.SampleRate > 1 {
		errs = append(errs, fmt.Errorf("sample rate %v is not in (0, 1]", c.SampleRate))
	}
	return errors.Join(errs...)
}

// CheckDSN reports whether dsn has the shape of a Sentry DSN; its errors
// never contain the DSN.
func CheckDSN(dsn string) error {
	if dsn == "" {
		return errors.New("DSN is empty")
	}
	u, err := url.Parse(dsn)
	switch {
	case err != nil:
		return errors.New("DSN is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("DSN scheme must be http or https")
	case u.User == nil || u.User.Username() == "":
		return errors.New("DSN has no public key (want scheme://publickey@host/projectid)")
	case u.Host == "":
		return errors.New("DSN has no host")
	case len(u.Path) < 2:
		return errors.New("DSN has no project id")
	}
	return nil
}

// Reporter sends [report.Event]s to Sentry. It is safe for concurrent use;
// Report queues the event and returns, a background sender posts it.
// Whoever built it calls [Reporter.Close] at shutdown, after the server and
// the job runners have stopped, so the queued events are sent.
type Reporter struct {
	client  *sentry.Client
	timeout time.Duration
}

var _ report.Reporter = (*Reporter)(nil)

// New returns a Reporter for cfg, or an error (never containing the DSN)
// when cfg is invalid. It does no I/O.
//
// The Sentry client is its own (sentry-go's global hub is never touched),
// sends no personal data (SendDefaultPII off), attaches no source lines of
// the service's code to stack frames, reads no SENTRY_* variable, and
// scrubs every event before it leaves (see the package documentation).
func New(cfg Config) (*Reporter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sentryreport: invalid config: %w", err)
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         cfg.DSN,
		Release:     cfg.Release,
		Environment: cfg.Environment,
		SampleRate:  cfg.SampleRate,
		ServerName:  cfg.ServerName,
		BeforeSend:  func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event { return scrub(e) },
		// Breadcrumbs are whatever a program added to a hub; none of ours.
		BeforeBreadcrumb: func(*sentry.Breadcrumb, *sentry.BreadcrumbHint) *sentry.Breadcrumb { return nil },
		Integrations:     integrations,
	})
	if err != nil {
		return nil, errors.New("sentryreport: invalid DSN") // sentry's error may quote it
	}
	return &Reporter{client: client, timeout: cfg.FlushTimeout}, nil
}

// integrations keeps sentry-go's default integrations but two: the source
// lines around each frame (a service's code stays home, and with it any
// literal in it) and the tags read from SENTRY_TAGS_* variables (settings
// come from the config, not from the environment behind its back).
func integrations(in []sentry.Integration) []sentry.Integration {
	out := in[:0]
	for _, i := range in {
		switch i.Name() {
		case "ContextifyFrames", "GlobalTags":
			continue
		}
		out = append(out, i)
	}
	return out
}

// Report queues ev for Sentry: its error (or panic, with the stack parsed
// into frames), level error (fatal for a panic), the transaction "GET
// /users/:id" or "job <kind>", tags for the request id, route, method and
// status or the job's id, kind, queue and attempt, and the user id.
func (r *Reporter) Report(ctx context.Context, ev report.Event) {
	if r == nil {
		return
	}
	e := event(ev)
	scope := sentry.NewScope()
	r.client.CaptureEvent(e, &sentry.EventHint{Context: ctx, OriginalException: ev.Err}, scope)
}

// event builds the Sentry event of ev.
func event(ev report.Event) *sentry.Event {
	e := sentry.NewEvent()
	e.Level = sentry.LevelError
	e.Tags = map[string]string{"gantry.kind": ev.Kind}
	set := func(k, v string) {
		if v != "" {
			e.Tags[k] = v
		}
	}
	switch ev.Kind {
	case report.KindJob:
		e.Transaction = "job " + ev.JobKind
		set("job.id", ev.JobID)
		set("job.kind", ev.JobKind)
		set("job.queue", ev.Queue)
		set("job.attempt", strconv.Itoa(ev.Attempt))
		set("job.max_retry", strconv.Itoa(ev.MaxRetry))
	default:
		e.Transaction = ev.Method + " " + ev.Route
		set("request_id", ev.RequestID)
		set("http.route", ev.Route)
		set("http.method", ev.Method)
		if ev.Status != 0 {
			set("http.status_code", strconv.Itoa(ev.Status))
		}
	}
	if ev.UserID != "" {
		e.User = sentry.User{ID: ev.UserID}
	}
	if ev.IsPanic() {
		e.Level = sentry.LevelFatal
		ex := sentry.Exception{
			Type:      "panic",
			Value:     fmt.Sprint(ev.Panic),
			Mechanism: &sentry.Mechanism{Type: "gantry." + ev.Kind + ".recover", Handled: new(false)},
		}
		if frames := parseStack(ev.Stack); len(frames) > 0 {
			ex.Stacktrace = &sentry.Stacktrace{Frames: frames}
		}
		e.Exception = []sentry.Exception{ex}
		return e
	}
	if ev.Err != nil {
		e.SetException(ev.Err, 10)
	} else {
		e.Message = "unexpected error"
	}
	return e
}

// Flush waits until the queued events are sent, or ctx ends (then it
// returns ctx's error: some events may be lost).
func (r *Reporter) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	if !r.client.FlushWithContext(ctx) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sentryreport: flush: %w", err)
		}
		return errors.New("sentryreport: flush: events not sent")
	}
	return nil
}

// Close flushes the queued events, bounded by ctx and Config.FlushTimeout,
// and stops the sender. Events reported after Close are dropped. Call it
// once, after the server and the job runners have stopped.
func (r *Reporter) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := r.Flush(ctx)
	r.client.Close()
	return err
}
