package jobs

import (
	"context"
	"errors"
	"time"
)

// errNotImplemented marks the parts of the operator API still being built.
var errNotImplemented = errors.New("jobs: not implemented yet")

// Order is the direction of a job list.
type Order string

// The orders of [ListOptions].
const (
	// OldestFirst lists in the order the jobs will run (pending: oldest
	// first; scheduled and retrying: soonest due first; active: soonest
	// lease deadline first) or, for finished states, oldest finish first.
	OldestFirst Order = "oldest"
	// NewestFirst reverses OldestFirst.
	NewestFirst Order = "newest"
)

// ListOptions selects one page of a queue's jobs in one state.
type ListOptions struct {
	// State to list (required).
	State State
	// Kind, if set, keeps only jobs of this kind. A filtered page scans a
	// bounded number of entries (never the whole queue): it may hold fewer
	// than Limit jobs while Next is still set.
	Kind string
	// Order of the list. Default: OldestFirst for pending, scheduled,
	// retrying and active; NewestFirst for succeeded, dead and cancelled.
	Order Order
	// Cursor continues a previous page: its [JobPage.Next]. Empty starts
	// at the beginning. A cursor is opaque and stays valid while jobs move
	// in and out of the list (a job may then be skipped or shown twice,
	// never an error).
	Cursor string
	// Limit is the page size. Default 50, capped at 1,000.
	Limit int
}

// JobPage is one page of [Inspector.List].
type JobPage struct {
	Jobs []*JobInfo `json:"jobs"`
	// Next is the cursor of the following page, empty at the end.
	Next string `json:"next,omitempty"`
}

// QueueStats is a queue's state for an operator: counts by state, latency,
// kinds and recent throughput.
type QueueStats struct {
	QueueSizes
	// Latency is the age of the oldest pending job (0 when none is
	// pending), in milliseconds in JSON.
	Latency time.Duration `json:"latency_ms"`
	// Kinds breaks the queue's jobs down by kind.
	Kinds []KindStats `json:"kinds"`
	// History holds one entry per minute, oldest first, ending with the
	// current (partial) minute.
	History []MinuteStats `json:"history"`
}

// KindStats counts one kind's jobs in a queue.
type KindStats struct {
	Kind string `json:"kind"`
	// Pending, Scheduled, Retrying, Dead count the kind's jobs in those
	// states.
	Pending   int64 `json:"pending"`
	Scheduled int64 `json:"scheduled"`
	Retrying  int64 `json:"retrying"`
	Dead      int64 `json:"dead"`
	// Processed and Failed count the kind's attempts over the History
	// window.
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
}

// MinuteStats counts a queue's finished attempts in one minute.
type MinuteStats struct {
	Minute time.Time `json:"minute"`
	// Processed counts attempts that ended (any outcome); Failed those that
	// ended in an error (retried or dead).
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// Stats returns a queue's [QueueStats] over the last minutes (default 15,
// at most 60).
func (i *Inspector) Stats(ctx context.Context, queue string, minutes int) (*QueueStats, error) {
	return nil, errNotImplemented
}

// List returns one page of a queue's jobs in one state.
func (i *Inspector) List(ctx context.Context, queue string, opt ListOptions) (*JobPage, error) {
	return nil, errNotImplemented
}

// RetryNow makes a dead, retrying or scheduled job pending now, with its
// attempts kept (a dead job's attempts are reset, as [Inspector.RetryDead]
// does). It returns [ErrNotFound], or [ErrFinished] for a job in another
// state.
func (i *Inspector) RetryNow(ctx context.Context, id string) error {
	return errNotImplemented
}

// Delete removes a job that is not running: pending, scheduled, retrying,
// succeeded, dead or cancelled. It returns [ErrNotFound], or [ErrFinished]
// for an active job (cancel it instead).
func (i *Inspector) Delete(ctx context.Context, id string) error {
	return errNotImplemented
}

// RetryAllDead makes every dead job of queue pending again, in bounded
// batches, and returns how many moved.
func (i *Inspector) RetryAllDead(ctx context.Context, queue string) (int, error) {
	return 0, errNotImplemented
}

// DeleteAllDead removes every dead job of queue, in bounded batches, and
// returns how many went.
func (i *Inspector) DeleteAllDead(ctx context.Context, queue string) (int, error) {
	return 0, errNotImplemented
}
