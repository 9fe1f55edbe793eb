package jobs

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// memEvents is a watched job's event list on the memory backend, the
// counterpart of a Redis stream: bounded, and kept until its TTL passes
// without a watcher refreshing it.
type memEvents struct {
	events  []Event // IDs "0-<seq>"
	seq     int64
	expires time.Time
}

const memEventsMax = 1000

func eventSeq(id string) (int64, bool) {
	a, b, ok := strings.Cut(id, "-")
	if !ok || a != "0" {
		return 0, false
	}
	n, err := strconv.ParseInt(b, 10, 64)
	return n, err == nil && n >= 0
}

// emit records e for job id if someone watches it. b.mu is held.
func (b *MemoryBackend) emit(id string, e Event) {
	w := b.evs[id]
	if w == nil {
		return
	}
	if !w.expires.After(time.Now()) {
		delete(b.evs, id)
		return
	}
	w.seq++
	e.ID = "0-" + strconv.FormatInt(w.seq, 10)
	w.events = append(w.events, e)
	if len(w.events) > memEventsMax {
		w.events = append(w.events[:0:0], w.events[len(w.events)-memEventsMax:]...)
	}
	close(b.evWake)
	b.evWake = make(chan struct{})
}

func (b *MemoryBackend) watchOpen(_ context.Context, _ string, id, after string, ttl time.Duration) (string, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	w := b.evs[id]
	if w != nil && !w.expires.After(now) {
		w = nil
	}
	if w == nil {
		for k, v := range b.evs { // drop the expired ones now and then
			if !v.expires.After(now) {
				delete(b.evs, k)
			}
		}
		w = &memEvents{}
		b.evs[id] = w
	}
	w.expires = now.Add(ttl)
	if n, ok := eventSeq(after); ok && len(w.events) > 0 {
		first, _ := eventSeq(w.events[0].ID)
		if n >= first-1 && n <= w.seq {
			return after, true, nil
		}
	}
	return "0-" + strconv.FormatInt(w.seq, 10), false, nil
}

func (b *MemoryBackend) watchRead(ctx context.Context, _ string, id, after string, wait time.Duration) ([]Event, string, error) {
	n, _ := eventSeq(after)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		var out []Event
		if w := b.evs[id]; w != nil {
			for _, e := range w.events {
				if s, _ := eventSeq(e.ID); s > n {
					out = append(out, e)
				}
			}
		}
		wake := b.evWake
		b.mu.Unlock()
		if len(out) > 0 {
			return out, out[len(out)-1].ID, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return nil, after, nil
		case <-ctx.Done():
			return nil, after, ctx.Err()
		}
	}
}

// stateEvent is the event of a job's state as the memory backend holds it.
func stateEvent(j *memJob, attempt int) Event {
	e := Event{Type: EventState, State: j.info.State, Attempt: attempt}
	switch j.info.State {
	case StateSucceeded:
		e.Result = j.info.Result
	case StateRetrying, StateDead:
		e.Error = j.info.LastError
	}
	return e
}
