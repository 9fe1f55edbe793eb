package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

// WorkerInfo describes a running [Runner] process, from the heartbeats it
// sends.
type WorkerInfo struct {
	// ID identifies the Run call: "<host>:<pid>:<random>".
	ID string `json:"id"`
	// Name is RunnerConfig.Name, if set.
	Name        string         `json:"name,omitempty"`
	Host        string         `json:"host"`
	PID         int            `json:"pid"`
	Queues      map[string]int `json:"queues"` // queue → weight
	Concurrency int            `json:"concurrency"`
	Busy        int            `json:"busy"` // jobs running at the last heartbeat
	StartedAt   time.Time      `json:"started_at"`
	// HeartbeatAt is the last heartbeat, by the backend's clock.
	HeartbeatAt time.Time `json:"heartbeat_at"`
}

// ScheduleInfo describes a periodic job of a running [Scheduler].
type ScheduleInfo struct {
	Name     string    `json:"name"`
	Spec     string    `json:"spec"`
	TimeZone string    `json:"time_zone"`
	Queue    string    `json:"queue"`
	Kind     string    `json:"kind"`
	Next     time.Time `json:"next,omitzero"`
	LastFire time.Time `json:"last_fire,omitzero"`
	// LastJobID is the id of the job the last fire enqueued.
	LastJobID string `json:"last_job_id,omitempty"`
}

// Workers lists the runners whose last heartbeat is recent, by host and pid.
// A runner is listed from the start of its Run until Run returns; one that
// died without returning drops out of the list 3 heartbeat intervals (at
// least 1 s) after its last heartbeat, judged by the backend's clock.
func (i *Inspector) Workers(ctx context.Context) ([]WorkerInfo, error) {
	rb, ok := i.b.(registryBackend)
	if !ok {
		return nil, errNoRegistry
	}
	recs, err := rb.records(ctx, regWorkers)
	if err != nil {
		return nil, fmt.Errorf("jobs: list workers: %w", err)
	}
	out := make([]WorkerInfo, 0, len(recs))
	for _, r := range recs {
		var w WorkerInfo
		if json.Unmarshal(r.data, &w) != nil {
			continue // written by an incompatible version: skip, it expires
		}
		w.ID, w.HeartbeatAt = r.id, r.at
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.PID, b.PID), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Schedules lists the periodic jobs of the schedulers running now, by name.
// Entries of several schedulers with the same name are listed once, as the
// scheduler that refreshed it last describes it. An entry drops out of the
// list when its schedulers stop (at once when Run returns; 3 heartbeat
// intervals after the last refresh when a scheduler dies). LastFire is the
// last tick enqueued (by any instance, even before the running ones
// started); LastJobID is the job that tick enqueued, when known.
func (i *Inspector) Schedules(ctx context.Context) ([]ScheduleInfo, error) {
	rb, ok := i.b.(registryBackend)
	if !ok {
		return nil, errNoRegistry
	}
	recs, err := rb.records(ctx, regSchedules)
	if err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	newest := map[string]time.Time{}
	byName := map[string]ScheduleInfo{}
	for _, r := range recs {
		var s ScheduleInfo
		if json.Unmarshal(r.data, &s) != nil || s.Name == "" {
			continue
		}
		if at, ok := newest[s.Name]; ok && at.After(r.at) {
			continue
		}
		newest[s.Name], byName[s.Name] = r.at, s
	}
	out := make([]ScheduleInfo, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ScheduleInfo) int { return cmp.Compare(a.Name, b.Name) })
	keys := make([]schedKey, len(out))
	for j, s := range out {
		keys[j] = schedKey{queue: s.Queue, name: s.Name}
	}
	fires, err := rb.lastFires(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	for j := range out {
		out[j].LastFire, out[j].LastJobID = fires[j].tick, fires[j].jobID
	}
	return out, nil
}

var errNoRegistry = errors.New("jobs: backend keeps no worker or schedule records")

// The record sets of the registry.
const (
	regWorkers   = "workers"
	regSchedules = "schedules"
)

// regRecord is one record of a registry set: a runner (id: its WorkerInfo.ID)
// or one entry of one scheduler (id: scheduler id + sep + entry name), as
// JSON.
type regRecord struct {
	id   string
	data []byte
	at   time.Time // when it was last stored, by the backend's clock (read only)
}

type schedKey struct{ queue, name string }

// lastFire is a schedule's last enqueued tick and, when recorded for that
// very tick, the id of the job it enqueued.
type lastFire struct {
	tick  time.Time
	jobID string
}

// registryBackend stores the records Runners and Schedulers publish for
// [Inspector.Workers] and [Inspector.Schedules]. Records expire by the
// backend's clock. Both backends implement it.
type registryBackend interface {
	// putRecords stores recs in set, each until ttl from now, and drops
	// expired records of the set.
	putRecords(ctx context.Context, set string, recs []regRecord, ttl time.Duration) error
	// delRecords removes records of set by id.
	delRecords(ctx context.Context, set string, ids []string) error
	// records returns the live records of set, in no particular order.
	records(ctx context.Context, set string) ([]regRecord, error)
	// setLastFire records that tick of schedule name enqueued job id, unless
	// a later tick is recorded.
	setLastFire(ctx context.Context, queue, name string, tick time.Time, jobID string) error
	// lastFires returns, for each key, the schedule's last enqueued tick
	// (as lastTick) and the job id recorded for that tick, if any.
	lastFires(ctx context.Context, keys []schedKey) ([]lastFire, error)
}

var (
	_ registryBackend = (*RedisBackend)(nil)
	_ registryBackend = (*MemoryBackend)(nil)
)

// regTTL is how long a record lives without a refresh: 3 heartbeat
// intervals, at least 1 s.
func regTTL(heartbeat time.Duration) time.Duration { return max(3*heartbeat, time.Second) }

// regTimeout bounds one registry round trip.
func regTimeout(heartbeat time.Duration) time.Duration {
	return min(max(heartbeat, 500*time.Millisecond), 5*time.Second)
}

// processID returns "<host>:<pid>:<12 random hex digits>", and the host and
// pid.
func processID() (id, host string, pid int) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	pid = os.Getpid()
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	return host + ":" + strconv.Itoa(pid) + ":" + hex.EncodeToString(rb[:]), host, pid
}
