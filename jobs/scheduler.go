package jobs

import (
	"context"
	"encoding/json"
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
	// MisfireGrace is how late a tick may still be enqueued (see the
	// misfire policy on [Scheduler]). Default 1 h; negative means no limit.
	MisfireGrace time.Duration
	// Logger receives enqueue failures, late and skipped ticks. Default
	// slog.Default().
	Logger *slog.Logger
	// Metrics, if set, is told of every skipped tick
	// ([Observer.TickSkipped]); see package
	// [github.com/gantry-dev/gantry/jobs/jobsmetrics].
	Metrics Observer
	// HeartbeatInterval is how often the scheduler refreshes its entries
	// for [Inspector.Schedules]; an entry no scheduler refreshed for 3
	// intervals is no longer listed. Default 5 s.
	HeartbeatInterval time.Duration
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
// (stored atomically with the job, in the job's queue) is before T.
//
// # Misfires
//
// A tick that is not enqueued on time, because the backend was unreachable
// (a Redis restart at the tick's time) or no scheduler was running, is a
// misfire. The scheduler keeps a due tick until it is enqueued, retrying
// with a backoff of up to 2 s, and on start it reads each schedule's last
// enqueued tick to find the ticks missed while no instance ran. Missed ticks
// of one schedule fire once, late: the latest of them is enqueued as soon as
// the backend answers, if it is at most MisfireGrace (default 1 h) late, and
// logged. A tick later than that is skipped: logged as a warning and counted
// in <ns>_jobs_ticks_skipped_total; the schedule goes on with its next tick.
// A schedule that never ran before has missed nothing.
type Scheduler struct {
	cfg     SchedulerConfig
	log     *slog.Logger
	mu      sync.Mutex
	entries []*schedEntry

	reg registryBackend // nil: the backend keeps no records
	id  string          // "<host>:<pid>:<random>": this instance in the records
	// keepRecords makes Run return without removing its records, as a
	// crashed process would (tests only).
	keepRecords bool
}

type schedEntry struct {
	p     PeriodicJob
	queue string
	tz    string
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
	if cfg.MisfireGrace == 0 {
		cfg.MisfireGrace = time.Hour
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 5 * time.Second
	}
	cfg.Metrics = observer(cfg.Metrics)
	s := &Scheduler{cfg: cfg, log: cfg.Logger.With("component", "jobs.scheduler")}
	s.reg, _ = cfg.Client.b.(registryBackend)
	s.id, _, _ = processID()
	return s, nil
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
	r, err := s.cfg.Client.request(context.Background(), p.Args, time.Now(), p.Options) // to check it and find its queue
	if err != nil {
		return err
	}
	s.entries = append(s.entries, &schedEntry{p: p, queue: r.queue, tz: specZone(p.Spec, s.cfg.Location), next: next})
	return nil
}

// specZone is the time zone a spec's times are in: its CRON_TZ= or TZ=
// prefix, else loc.
func specZone(spec string, loc *time.Location) string {
	spec = strings.TrimSpace(spec)
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(spec, p); ok {
			tz, _, _ := strings.Cut(rest, " ")
			return tz
		}
	}
	return loc.String()
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

// Run enqueues ticks until ctx is done, then returns nil. A failing
// backend does not stop it: see the misfire policy on [Scheduler].
// While it runs, [Inspector.Schedules] lists its entries.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	entries := append([]*schedEntry(nil), s.entries...)
	s.mu.Unlock()
	if len(entries) == 0 {
		<-ctx.Done()
		return nil
	}
	now := time.Now()
	st := make([]*schedState, len(entries))
	for i, e := range entries {
		st[i] = &schedState{schedEntry: e, due: e.next(now), at: now, catchUp: true}
	}
	var pub *schedPub
	if s.reg != nil {
		pub = s.startPub(ctx)
		defer pub.stop(st)
		pub.put(st)
	}
	pubAt := now.Add(s.cfg.HeartbeatInterval)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		wake := pubAt
		changed := false
		for _, x := range st {
			if !x.at.After(now) {
				due := x.due
				s.step(ctx, x, now)
				changed = changed || !x.due.Equal(due)
			}
			if x.at.Before(wake) {
				wake = x.at
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if pub != nil && (changed || !now.Before(pubAt)) {
			pub.put(st)
			pubAt = time.Now().Add(s.cfg.HeartbeatInterval)
			if pubAt.Before(wake) {
				wake = pubAt
			}
		}
		t.Reset(time.Until(wake))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// schedPub stores a scheduler's records and last fires for
// Inspector.Schedules on a goroutine of its own, so a slow backend never
// delays a tick. Only the latest records wait to be stored.
type schedPub struct {
	s     *Scheduler
	ctx   context.Context // not cancelled with Run's
	mu    sync.Mutex
	recs  []regRecord // waiting to be stored; nil: none
	fires []schedFire // waiting to be stored
	kick  chan struct{}
	quit  chan struct{}
	done  chan struct{}
}

// schedFire is a tick this instance enqueued, and its job.
type schedFire struct {
	queue, name string
	tick        time.Time
	id          string
}

func (s *Scheduler) startPub(ctx context.Context) *schedPub {
	p := &schedPub{s: s, ctx: context.WithoutCancel(ctx), kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return p
}

// put queues st's entries, and the ticks enqueued since the last put, to
// be stored.
func (p *schedPub) put(st []*schedState) {
	recs := make([]regRecord, 0, len(st))
	var fires []schedFire
	for _, x := range st {
		data, err := json.Marshal(ScheduleInfo{Name: x.p.Name, Spec: x.p.Spec, TimeZone: x.tz, Queue: x.queue,
			Kind: x.p.Args.Kind(), Next: x.due})
		if err == nil {
			recs = append(recs, regRecord{id: p.s.id + sep + x.p.Name, data: data})
		}
		if x.firedID != "" {
			fires = append(fires, schedFire{queue: x.queue, name: x.p.Name, tick: x.firedTick, id: x.firedID})
			x.firedID = ""
		}
	}
	p.mu.Lock()
	p.recs = recs
	p.fires = append(p.fires, fires...)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *schedPub) loop() {
	defer close(p.done)
	for {
		select {
		case <-p.kick:
			p.flush()
		case <-p.quit:
			p.flush()
			return
		}
	}
}

// flush stores what waits: fires first (a fire's job id matters more than a
// refresh).
func (p *schedPub) flush() {
	p.mu.Lock()
	recs, fires := p.recs, p.fires
	p.recs, p.fires = nil, nil
	p.mu.Unlock()
	hb := p.s.cfg.HeartbeatInterval
	for _, f := range fires {
		ctx, cancel := context.WithTimeout(p.ctx, regTimeout(hb))
		if err := p.s.reg.setLastFire(ctx, f.queue, f.name, f.tick, f.id); err != nil {
			p.s.log.LogAttrs(ctx, slog.LevelWarn, "schedule's last job id not stored", slog.String("schedule", f.name), slog.String("err", err.Error()))
		}
		cancel()
	}
	if recs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, regTimeout(hb))
	defer cancel()
	if err := p.s.reg.putRecords(ctx, regSchedules, recs, regTTL(hb)); err != nil {
		p.s.log.LogAttrs(ctx, slog.LevelWarn, "schedule records not stored", slog.String("err", err.Error()))
	}
}

// stop stores the fires still waiting, ends the goroutine and removes this
// instance's records.
func (p *schedPub) stop(st []*schedState) {
	p.put(st)
	close(p.quit)
	<-p.done
	if p.s.keepRecords {
		return
	}
	ids := make([]string, len(st))
	for i, x := range st {
		ids[i] = p.s.id + sep + x.p.Name
	}
	ctx, cancel := context.WithTimeout(p.ctx, regTimeout(p.s.cfg.HeartbeatInterval))
	defer cancel()
	if err := p.s.reg.delRecords(ctx, regSchedules, ids); err != nil {
		p.s.log.LogAttrs(ctx, slog.LevelWarn, "schedule records not removed; they expire", slog.String("err", err.Error()))
	}
}

// schedState is one schedule's progress in Run.
type schedState struct {
	*schedEntry
	due     time.Time // the oldest tick not yet enqueued
	at      time.Time // when to act next: due, or a retry after a failure
	catchUp bool      // the last enqueued tick has not been read yet
	fails   int       // consecutive backend failures

	firedTick time.Time // the last tick this instance enqueued,
	firedID   string    // and its job, until published ("": published)
}

// Backoff between attempts while the backend fails, and the bound of one
// attempt.
const (
	schedRetryMin = 250 * time.Millisecond
	schedRetryMax = 2 * time.Second
	schedAttempt  = 10 * time.Second
)

// step enqueues x's due tick, or retries later if the backend fails.
func (s *Scheduler) step(ctx context.Context, x *schedState, now time.Time) {
	if x.catchUp {
		actx, cancel := context.WithTimeout(ctx, schedAttempt)
		last, err := s.cfg.Client.b.lastTick(actx, x.queue, x.p.Name)
		cancel()
		if err != nil {
			s.failed(ctx, x, now, time.Time{}, err)
			return
		}
		x.catchUp = false
		if !last.IsZero() { // never ran: nothing was missed
			if missed := x.next(last); missed.Before(x.due) {
				x.due = missed
			}
		}
	}
	if x.due.After(now) {
		x.at = x.due
		return
	}
	tick := x.due // fire the latest tick due; older missed ones fire with it
	for t, i := x.next(tick), 0; !t.After(now) && i < 1_000_000; t, i = x.next(t), i+1 {
		tick = t
	}
	late := now.Sub(tick)
	if s.cfg.MisfireGrace >= 0 && late > s.cfg.MisfireGrace {
		s.log.LogAttrs(ctx, slog.LevelWarn, "periodic tick skipped: later than MisfireGrace", slog.String("schedule", x.p.Name),
			slog.Time("tick", tick), slog.Duration("late", late), slog.Duration("misfire_grace", s.cfg.MisfireGrace))
		if o := s.cfg.Metrics; o != nil {
			o.TickSkipped(x.p.Name)
		}
		x.fired(tick)
		return
	}
	opts := append(append([]Option(nil), x.p.Options...), tickAt(x.p.Name, tick))
	actx, cancel := context.WithTimeout(ctx, schedAttempt)
	info, err := s.cfg.Client.Enqueue(actx, x.p.Args, opts...)
	cancel()
	if err != nil && !errors.Is(err, ErrDuplicate) { // ErrDuplicate: enqueued by another instance, or by an attempt whose reply was lost
		s.failed(ctx, x, now, tick, err)
		return
	}
	if err == nil {
		x.firedTick, x.firedID = tick, info.ID // for Inspector.Schedules; the tick itself is stored with the job
	}
	if x.fails > 0 || late > time.Second {
		s.log.LogAttrs(ctx, slog.LevelInfo, "periodic tick enqueued late", slog.String("schedule", x.p.Name),
			slog.Time("tick", tick), slog.Duration("late", late), slog.Bool("duplicate", err != nil))
	}
	x.fired(tick)
}

// fired moves x past tick.
func (x *schedState) fired(tick time.Time) {
	x.fails = 0
	x.due = x.next(tick)
	x.at = x.due
}

// failed keeps x's due tick and schedules a retry.
func (s *Scheduler) failed(ctx context.Context, x *schedState, now, tick time.Time, err error) {
	if ctx.Err() != nil {
		return
	}
	x.fails++
	d := min(schedRetryMin<<min(x.fails-1, 8), schedRetryMax)
	x.at = now.Add(d)
	if x.fails == 1 || x.fails%30 == 0 { // a long outage logs about once a minute
		attrs := []slog.Attr{slog.String("schedule", x.p.Name), slog.Int("failures", x.fails), slog.Duration("retry_in", d), slog.String("err", err.Error())}
		if !tick.IsZero() {
			attrs = append(attrs, slog.Time("tick", tick))
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "periodic tick not enqueued yet: backend failed", attrs...)
	}
}
