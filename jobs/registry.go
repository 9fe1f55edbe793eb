package jobs

import (
	"context"
	"time"
)

// WorkerInfo describes a running [Runner] process, from the heartbeats it
// sends.
type WorkerInfo struct {
	ID          string         `json:"id"`
	Host        string         `json:"host"`
	PID         int            `json:"pid"`
	Queues      map[string]int `json:"queues"` // queue → weight
	Concurrency int            `json:"concurrency"`
	Busy        int            `json:"busy"` // jobs running now
	StartedAt   time.Time      `json:"started_at"`
	HeartbeatAt time.Time      `json:"heartbeat_at"`
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
func (i *Inspector) Workers(ctx context.Context) ([]WorkerInfo, error) {
	return nil, errNotImplemented
}

// Schedules lists the periodic jobs of the schedulers running now, by name.
func (i *Inspector) Schedules(ctx context.Context) ([]ScheduleInfo, error) {
	return nil, errNotImplemented
}
