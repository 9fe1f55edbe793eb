package jobs

import (
	"context"
	"encoding/json"
	"time"
)

// Event is a change of one job, as [Inspector.Watch] delivers it: a state
// change (pending, active with its attempt, retrying with the error,
// succeeded with the result, dead, cancelled) or a progress report.
type Event struct {
	// ID is the event's position in the job's stream; pass the last one
	// seen to Watch to resume after it (SSE's Last-Event-ID).
	ID       string          `json:"-"`
	Type     EventType       `json:"type"`
	State    State           `json:"state"`
	Attempt  int             `json:"attempt,omitempty"`
	Progress *Progress       `json:"progress,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// EventType tells a state change from a progress report.
type EventType string

// The types of [Event].
const (
	EventState    EventType = "state"
	EventProgress EventType = "progress"
)

// Final reports whether the event ends the job: succeeded, dead or
// cancelled. Watch closes its channel after it.
func (e Event) Final() bool { return e.Type == EventState && e.State.finished() }

// How a watch keeps its stream: the stream (and the queue's "watched" flag
// that makes runners write to it) lives watchTTL past the last refresh,
// refreshed every watchRefresh; a blocking read waits at most watchBlock,
// so a watch notices its context's end within that.
const (
	watchTTL     = 30 * time.Second
	watchRefresh = 10 * time.Second
	watchBlock   = time.Second
)

// Watch streams the changes of job id until it ends (the channel closes
// after the final event), ctx ends, or the job disappears (deleted, or past
// its retention). Events are recorded only while someone watches the job,
// so the first event is a snapshot of the job's state as it is (progress
// included); after that every state change and progress report is
// delivered in order, from every runner, on any instance (Redis streams;
// the memory backend keeps its own). A watch resumed with the ID of the
// last event it saw (after) continues after it without a snapshot, if the
// job's stream still holds that event (its TTL is 30 s past the last
// watcher); otherwise it starts again with a snapshot.
//
// It returns [ErrNotFound] at once for an unknown job. The caller checks
// ownership first (e.g. by [Inspector.Job]'s Owner).
func (i *Inspector) Watch(ctx context.Context, id, after string) (<-chan Event, error) {
	info, err := i.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	queue := info.Queue
	start, resumed, err := i.b.watchOpen(ctx, queue, id, after, watchTTL)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event, 16)
	go i.watch(ctx, ch, queue, id, start, !resumed)
	return ch, nil
}

func (i *Inspector) watch(ctx context.Context, ch chan<- Event, queue, id, pos string, snapshot bool) {
	defer close(ch)
	send := func(e Event) bool {
		select {
		case ch <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// check sends the job's state as it is: at the start, and at each
	// refresh in case the job ended unseen (e.g. deleted, or its final
	// event trimmed); it reports whether the watch should go on.
	check := func(always bool) bool {
		info, err := i.Job(ctx, id)
		if err != nil {
			return false // gone; or ctx ended
		}
		e := snapshotEvent(info, pos)
		if always || e.Final() {
			if !send(e) {
				return false
			}
		}
		return !e.Final()
	}
	if snapshot && !check(true) {
		return
	}
	refresh := time.Now().Add(watchRefresh)
	for ctx.Err() == nil {
		evs, next, err := i.b.watchRead(ctx, queue, id, pos, watchBlock)
		if err != nil && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond) // a backend hiccup: try again
		}
		pos = next
		for _, e := range evs {
			if !send(e) || e.Final() {
				return
			}
		}
		if time.Now().After(refresh) {
			refresh = time.Now().Add(watchRefresh)
			if _, _, err := i.b.watchOpen(ctx, queue, id, "", watchTTL); err != nil && ctx.Err() != nil {
				return
			}
			if !check(false) {
				return
			}
		}
	}
}

func snapshotEvent(info *JobInfo, pos string) Event {
	e := Event{ID: pos, Type: EventState, State: info.State, Progress: info.Progress, Attempt: info.Attempts}
	switch info.State {
	case StateSucceeded:
		e.Result = info.Result
	case StateActive:
		e.Attempt = info.Attempts + 1
	case StateRetrying, StateDead:
		e.Error = info.LastError
	}
	return e
}
