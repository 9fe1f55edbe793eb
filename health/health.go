package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Status is the health of one check or of the whole registry.
type Status string

// The statuses a [Report] or a [CheckResult] can carry.
const (
	// StatusHealthy: every check passed (for a check: it passed).
	StatusHealthy Status = "healthy"
	// StatusDegraded: only non-critical checks failed. Readiness stays 200.
	StatusDegraded Status = "degraded"
	// StatusUnhealthy: a critical check failed (for a check: it failed or timed out).
	StatusUnhealthy Status = "unhealthy"
	// StatusDraining: the server is shutting down; readiness answers 503
	// without running any check.
	StatusDraining Status = "draining"
)

// Errors reported for a check that did not return in time or panicked. They
// appear (as text) in [CheckResult.Error] outside production and in logs.
var (
	// ErrTimeout is reported when a check does not return within its timeout.
	ErrTimeout = errors.New("health: check timed out")
	// ErrPanic is reported when a check panics; the registry recovers it.
	ErrPanic = errors.New("health: check panicked")
)

// Checker reports whether a dependency is usable. Check must honour ctx,
// which carries the check's timeout; a Checker that ignores it still cannot
// hold a probe past the timeout (see [Registry]), but its goroutine lives on
// until it returns.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckerFunc adapts an ordinary function to a [Checker].
type CheckerFunc func(ctx context.Context) error

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

var _ Checker = CheckerFunc(nil)

// Config configures a [Registry]. The zero value is valid.
type Config struct {
	// CacheTTL is how long a completed run of the checks is reused before
	// the next probe runs them again. Default 1s; a negative value disables
	// the cache (concurrent probes still share one run).
	CacheTTL time.Duration
	// DefaultTimeout bounds each check registered without a [Timeout]
	// option. Default 2s.
	DefaultTimeout time.Duration
	// Now returns the current time; it stamps reports and ages the cache.
	// Default time.Now. Check latencies always use the monotonic clock.
	Now func() time.Time
	// Production hides each check's error text from HTTP responses and
	// [Report]s; the text is still logged.
	Production bool
	// Logger receives a warning when a check starts failing and an info
	// line when it recovers (transitions only, not every probe).
	// Default slog.Default(), read once in [New].
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.CacheTTL == 0 {
		c.CacheTTL = time.Second
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// CheckOption configures one check at [Registry.Register].
type CheckOption func(*check)

// Timeout bounds the check to d (default [Config.DefaultTimeout]). A zero or
// negative d keeps the default.
func Timeout(d time.Duration) CheckOption {
	return func(c *check) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// Critical marks the check critical (the default) or not. A failing critical
// check makes readiness answer 503 and the report "unhealthy"; a failing
// non-critical one only makes the report "degraded".
func Critical(critical bool) CheckOption {
	return func(c *check) { c.critical = critical }
}

// CheckResult is the outcome of one check in a [Report].
type CheckResult struct {
	// Status is StatusHealthy or StatusUnhealthy.
	Status Status `json:"status"`
	// LatencyMS is how long the check took, in milliseconds (the timeout
	// when it timed out).
	LatencyMS float64 `json:"latency_ms"`
	// Error is the failure's text; empty when the check passed or when the
	// registry runs in production.
	Error string `json:"error,omitempty"`
	// Critical reports whether a failure makes the service unready.
	Critical bool `json:"critical"`
}

// Report is the result of running every check, as served by the readiness
// and detailed endpoints.
type Report struct {
	// Status is healthy, degraded, unhealthy or (readiness only) draining.
	Status Status `json:"status"`
	// Timestamp is when the checks completed (Config.Now), encoded in JSON
	// as RFC 3339 in UTC.
	Timestamp time.Time `json:"timestamp"`
	// Draining reports whether SetDraining(true) is in force.
	Draining bool `json:"draining,omitempty"`
	// Checks holds each check's result by name; nil for liveness and for a
	// draining readiness answer.
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// MarshalJSON encodes the report with its timestamp as RFC 3339 in UTC at
// second precision, the format of the server's error envelope.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // drops this method
	return json.Marshal(struct {
		plain
		Timestamp string `json:"timestamp"`
	}{plain(r), r.Timestamp.UTC().Format(time.RFC3339)})
}

// check is one registered Checker and its invocation state.
type check struct {
	name     string
	checker  Checker
	timeout  time.Duration
	critical bool

	mu     sync.Mutex
	cur    *invocation // running invocation, nil when idle
	failed bool        // last outcome, for transition logging (under mu)
}

// invocation is one call of a Checker; done is closed after err is set.
type invocation struct {
	done chan struct{}
	err  error
}

// Registry holds named checks, runs them concurrently with per-check
// timeouts, caches the result for [Config.CacheTTL] and serves it over HTTP.
// Register checks at wiring time; a Registry is safe for concurrent use.
//
// Each check runs in its own goroutine and the registry stops waiting when
// its timeout passes, so a check that ignores ctx delays no probe. At most
// one call of each check is ever in flight: while a hung call is still
// running, later runs wait on that same call (again up to the timeout)
// instead of starting another, so a stuck dependency cannot pile up
// goroutines.
type Registry struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	checks   []*check // sorted by name
	gen      uint64   // bumped by Register; a cached report of an older gen is stale
	cached   *Report
	cacheGen uint64
	expires  time.Time

	flight   singleflight.Group
	draining atomic.Bool
}

// New returns an empty Registry configured by cfg (zero fields take their
// defaults). New cannot fail.
func New(cfg Config) *Registry {
	cfg = cfg.withDefaults()
	return &Registry{cfg: cfg, log: cfg.Logger.With("component", "health")}
}

// Register adds a check under name. The check is critical and bounded by
// [Config.DefaultTimeout] unless opts say otherwise. Registering drops any
// cached report.
//
// Register panics if name is empty, c is nil or name is already registered:
// these are wiring mistakes, as with http.ServeMux.Handle.
func (r *Registry) Register(name string, c Checker, opts ...CheckOption) {
	if name == "" {
		panic("health: Register with an empty name")
	}
	if c == nil {
		panic("health: Register " + name + " with a nil Checker")
	}
	ch := &check{name: name, checker: c, timeout: r.cfg.DefaultTimeout, critical: true}
	for _, o := range opts {
		o(ch)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.checks {
		if have.name == name {
			panic("health: check " + name + " registered twice")
		}
	}
	r.checks = append(r.checks, ch)
	sort.Slice(r.checks, func(i, j int) bool { return r.checks[i].name < r.checks[j].name })
	r.gen++
	r.cached = nil
}

// SetDraining turns draining on or off. While draining, readiness answers
// 503 with status "draining" without running checks, so load balancers stop
// sending traffic; liveness and the detailed report are unaffected (the
// detailed report shows "draining": true). The server calls SetDraining(true)
// at the start of a graceful shutdown.
func (r *Registry) SetDraining(draining bool) { r.draining.Store(draining) }

// Draining reports whether SetDraining(true) is in force.
func (r *Registry) Draining() bool { return r.draining.Load() }

// Check returns the report of every registered check. It reuses a report
// younger than [Config.CacheTTL]; otherwise it runs all checks concurrently,
// each bounded by its timeout, and concurrent callers share that one run.
// The run does not inherit ctx's cancellation (other callers may be waiting
// on it), but Check returns early when ctx ends: every check is then
// reported unhealthy with ctx's error and nothing is cached.
func (r *Registry) Check(ctx context.Context) Report {
	if rep, ok := r.fresh(); ok {
		return r.present(rep)
	}
	runCtx := context.WithoutCancel(ctx)
	ch := r.flight.DoChan("checks", func() (any, error) {
		if rep, ok := r.fresh(); ok { // a run finished while we queued
			return rep, nil
		}
		return r.run(runCtx), nil
	})
	select {
	case res := <-ch:
		return r.present(res.Val.(*Report))
	case <-ctx.Done():
		return r.present(r.abandoned(ctx.Err()))
	}
}

// fresh returns the cached report if it is of the current generation and
// younger than the TTL.
func (r *Registry) fresh() (*Report, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cached == nil || r.cacheGen != r.gen || !r.cfg.Now().Before(r.expires) {
		return nil, false
	}
	return r.cached, true
}

// run runs every check concurrently and caches the report.
func (r *Registry) run(ctx context.Context) *Report {
	r.mu.Lock()
	checks, gen := r.checks, r.gen
	r.mu.Unlock()

	results := make([]CheckResult, len(checks))
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			start := time.Now()
			err := c.call(ctx)
			results[i] = CheckResult{
				Status:    StatusHealthy,
				LatencyMS: float64(time.Since(start).Microseconds()) / 1000,
				Critical:  c.critical,
			}
			if err != nil {
				results[i].Status = StatusUnhealthy
				errs[i] = err
			}
			r.logTransition(ctx, c, err)
		})
	}
	wg.Wait()

	rep := &Report{Status: StatusHealthy, Checks: make(map[string]CheckResult, len(checks))}
	for i, c := range checks {
		res := results[i]
		if errs[i] != nil {
			res.Error = errs[i].Error()
			switch {
			case c.critical:
				rep.Status = StatusUnhealthy
			case rep.Status == StatusHealthy:
				rep.Status = StatusDegraded
			}
		}
		rep.Checks[c.name] = res
	}
	now := r.cfg.Now()
	rep.Timestamp = now

	r.mu.Lock()
	if gen == r.gen && r.cfg.CacheTTL > 0 {
		r.cached, r.cacheGen, r.expires = rep, gen, now.Add(r.cfg.CacheTTL)
	}
	r.mu.Unlock()
	return rep
}

// abandoned is the report for a caller whose ctx ended before the run did.
func (r *Registry) abandoned(err error) *Report {
	r.mu.Lock()
	checks := r.checks
	r.mu.Unlock()
	rep := &Report{Status: StatusHealthy, Timestamp: r.cfg.Now(), Checks: make(map[string]CheckResult, len(checks))}
	for _, c := range checks {
		rep.Checks[c.name] = CheckResult{Status: StatusUnhealthy, Error: err.Error(), Critical: c.critical}
		if c.critical {
			rep.Status = StatusUnhealthy
		} else if rep.Status == StatusHealthy {
			rep.Status = StatusDegraded
		}
	}
	return rep
}

// present copies rep for a caller, adding the draining flag and removing
// error texts in production. Cached reports are shared and never modified.
func (r *Registry) present(rep *Report) Report {
	out := *rep
	out.Draining = r.Draining()
	out.Checks = make(map[string]CheckResult, len(rep.Checks))
	for name, res := range rep.Checks {
		if r.cfg.Production {
			res.Error = ""
		}
		out.Checks[name] = res
	}
	return out
}

// call runs the checker once, or joins the call already in flight, and waits
// at most c.timeout for it.
func (c *check) call(ctx context.Context) error {
	c.mu.Lock()
	inv := c.cur
	if inv == nil {
		inv = &invocation{done: make(chan struct{})}
		c.cur = inv
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		go func() {
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					inv.err = fmt.Errorf("%w: %v", ErrPanic, p)
				}
				c.mu.Lock()
				c.cur = nil
				c.mu.Unlock()
				close(inv.done)
			}()
			inv.err = c.checker.Check(cctx)
		}()
	}
	c.mu.Unlock()

	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case <-inv.done:
		if errors.Is(inv.err, context.DeadlineExceeded) { // the checker honoured our deadline
			return fmt.Errorf("%w after %v: %w", ErrTimeout, c.timeout, inv.err)
		}
		return inv.err
	case <-timer.C:
		return fmt.Errorf("%w after %v", ErrTimeout, c.timeout)
	}
}

// logTransition logs when a check starts failing or recovers.
func (r *Registry) logTransition(ctx context.Context, c *check, err error) {
	c.mu.Lock()
	was := c.failed
	c.failed = err != nil
	c.mu.Unlock()
	switch {
	case err != nil && !was:
		r.log.LogAttrs(ctx, slog.LevelWarn, "health check failing",
			slog.String("check", c.name), slog.Bool("critical", c.critical), slog.String("error", err.Error()))
	case err == nil && was:
		r.log.LogAttrs(ctx, slog.LevelInfo, "health check recovered", slog.String("check", c.name))
	}
}
