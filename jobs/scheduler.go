package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// SchedulerConfig configures a [Scheduler]. Only Client is required.
type SchedulerConfig struct {
	// Client enqueues the ticks (required).
	Client *Client
	// Location is the time zone of cron specs without a CRON_TZ= prefix.
	// Default time.UTC.
	Location *time.Location
	// Logger receives enqueue failures. Default slog.Default().
	Logger *slog.Logger
}

// PeriodicJob is one entry of a [Scheduler] (Celery beat's schedule).
type PeriodicJob struct {
	// Name identifies the schedule across instances and restarts; keep it
	// stable. Default: Args.Kind().
	Name string
	// Spec is a cron expression ("0 3 * * *", "CRON_TZ=Asia/Tokyo 0 9 * * 1-5",
	// "@hourly", parsed by robfig/cron/v3) or a fixed interval "@every 30s".
	// Intervals are aligned to the Unix epoch, so every instance computes the
	// same tick times.
	Spec string
	// Args and Options are enqueued at each tick.
	Args    Args
	Options []Option
}

// Scheduler enqueues periodic jobs. Run any number of instances (one per
// process is fine): each tick is enqueued exactly once, because the enqueue
// of tick T of a schedule succeeds only if the schedule's last enqueued tick
// (stored atomically with the job, in the job's queue) is before T. After
// downtime, at most one missed tick (the latest) is enqueued at start.
type Scheduler struct {
	cfg     SchedulerConfig
	log     *slog.Logger
	mu      sync.Mutex
	entries []*schedEntry
}

type schedEntry struct {
	p     PeriodicJob
	queue string
	next  func(time.Time) time.Time
}

// NewScheduler returns a Scheduler with no entries.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("jobs: invalid scheduler config: nil Client")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger.With("component", "jobs.scheduler")}, nil
}

// Add registers p. It returns an error for an invalid spec or a duplicate name.
// Call it before Run.
func (s *Scheduler) Add(p PeriodicJob) error {
	if p.Args == nil {
		return errors.New("jobs: periodic job without Args")
	}
	if p.Name == "" {
		p.Name = p.Args.Kind()
	}
	next, err := parseSpec(p.Spec, s.cfg.Location)
	if err != nil {
		return fmt.Errorf("jobs: schedule %q: %w", p.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if e.p.Name == p.Name {
			return fmt.Errorf("jobs: schedule %q added twice", p.Name)
		}
	}
	r, err := s.cfg.Client.request(p.Args, time.Now(), p.Options)
	if err != nil {
		return err
	}
	s.entries = append(s.entries, &schedEntry{p: p, queue: r.queue, next: next})
	return nil
}

func parseSpec(spec string, loc *time.Location) (func(time.Time) time.Time, error) {
	if d, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		iv, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || iv < time.Second {
			return nil, fmt.Errorf("invalid interval %q (want a duration of at least 1s)", d)
		}
		return func(t time.Time) time.Time { return t.Truncate(iv).Add(iv) }, nil
	}
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	return sched.Next, nil
}

// Run enqueues ticks until ctx is done, then returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	entries := append([]*schedEntry(nil), s.entries...)
	s.mu.Unlock()
	if len(entries) == 0 {
		<-ctx.Done()
		return nil
	}
	now := time.Now()
	due := make([]time.Time, len(entries))
	for i, e := range entries {
		s.catchUp(ctx, e, now)
		due[i] = e.next(now)
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		first := due[0]
		for _, d := range due[1:] {
			if d.Before(first) {
				first = d
			}
		}
		t.Reset(time.Until(first))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		for i, e := range entries {
			if !due[i].After(now) {
				s.fire(ctx, e, due[i])
				due[i] = e.next(now)
			}
		}
	}
}

// catchUp enqueues the latest tick missed while no scheduler ran.
func (s *Scheduler) catchUp(ctx context.Context, e *schedEntry, now time.Time) {
	last, err := s.cfg.Client.b.lastTick(ctx, e.queue, e.p.Name)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "read last tick", slog.String("schedule", e.p.Name), slog.String("err", err.Error()))
		return
	}
	if last.IsZero() {
		return // never ran: nothing was missed
	}
	missed := time.Time{}
	for t, i := e.next(last), 0; !t.After(now) && i < 1_000_000; t, i = e.next(t), i+1 {
		missed = t
	}
	if !missed.IsZero() {
		s.fire(ctx, e, missed)
	}
}

func (s *Scheduler) fire(ctx context.Context, e *schedEntry, at time.Time) {
	opts := append(append([]Option(nil), e.p.Options...), tick(e.p.Name, at))
	for attempt := 0; attempt < 5; attempt++ {
		_, err := s.cfg.Client.Enqueue(ctx, e.p.Args, opts...)
		if err == nil || errors.Is(err, ErrDuplicate) {
			return // enqueued here, or by another instance
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "enqueue tick", slog.String("schedule", e.p.Name), slog.Time("tick", at), slog.String("err", err.Error()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond << attempt):
		}
	}
}
