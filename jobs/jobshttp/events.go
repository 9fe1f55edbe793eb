package jobshttp

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
)

// EventsConfig configures the job events handler (GET /tasks/{id}/events):
// a job's state changes and progress reports as server-sent events, from
// [jobs.Inspector.Watch].
type EventsConfig struct {
	// Inspector watches the job (required).
	Inspector *jobs.Inspector
	// Param is the path parameter holding the job id. Default "id".
	Param string
	// Owner returns the caller's identity, compared with the job's
	// [jobs.Owner] option as [StatusConfig] does: on a mismatch the handler
	// answers 404 as if the job did not exist. Nil disables the check. An
	// error it returns is passed on unchanged (e.g. a 401).
	Owner func(c echo.Context) (string, error)
	// KeepAlive is the interval of the keep-alive comments sent while
	// nothing happens, so proxies do not close an idle stream. Default
	// 15 s.
	KeepAlive time.Duration
	// SSE configures the stream (the write timeout per event).
	SSE server.SSEConfig
	// Stop, if set, ends every open stream when it closes — typically
	// when the server starts to drain (server.OnDrain), so streams do not
	// hold the drain to its timeout: a client's EventSource reconnects,
	// with its Last-Event-ID, to an instance still serving.
	Stop <-chan struct{}
}

// EventData is the data of each event, as JSON: the job's id and, under
// the names the status handler's [jobs.JobInfo] uses, its state, progress,
// result and last error, with the event's type and the attempt it belongs
// to (the attempt running, for an active job).
type EventData struct {
	ID        string          `json:"id"`
	Type      jobs.EventType  `json:"type"`
	State     jobs.State      `json:"state"`
	Attempt   int             `json:"attempt,omitempty"`
	Progress  *jobs.Progress  `json:"progress,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	LastError string          `json:"last_error,omitempty"`
}

// ToHandler returns the echo handler. It answers 404 (an *echo.HTTPError
// wrapping [jobs.ErrNotFound], as [StatusConfig.ToHandler] does) for
// unknown, expired or foreign jobs, before the stream starts. Otherwise it
// answers 200 text/event-stream: one event per [jobs.Event], named
// "state" or "progress", with the event's position as its id and
// [EventData] as its data. The first is a snapshot of the job as it is;
// then every change in order, and the stream ends after the final state
// (succeeded with the result, dead or cancelled with the error): a client
// closes its EventSource on that event, or it reconnects. The stream
// also ends when the job disappears.
//
// A client that reconnects with Last-Event-ID (or ?last_event_id=) gets
// the events after it, without duplicates, while the job's stream holds
// it (30 s after the last watcher); otherwise, and always for a job that
// has finished, it starts again with a snapshot. A keep-alive comment goes
// out every KeepAlive. When the client goes away the handler returns
// within about a second, its watch ended.
func (cfg EventsConfig) ToHandler() (echo.HandlerFunc, error) {
	if cfg.Inspector == nil {
		return nil, errors.New("jobshttp: invalid events config: nil Inspector")
	}
	if cfg.KeepAlive < 0 {
		return nil, errors.New("jobshttp: invalid events config: negative KeepAlive")
	}
	if cfg.Param == "" {
		cfg.Param = "id"
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	return func(c echo.Context) error {
		id := c.Param(cfg.Param)
		// The watch outlives the request deadline: lift it before the
		// watch's goroutine waits on the context.
		middleware.LiftDeadline(c)
		ctx, stop := context.WithCancel(c.Request().Context())
		defer stop()
		info, err := cfg.Inspector.Job(ctx, id)
		if errors.Is(err, jobs.ErrNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		if cfg.Owner != nil {
			who, err := cfg.Owner(c)
			if err != nil {
				return err
			}
			if who == "" || who != info.Owner {
				return notFound(jobs.ErrNotFound)
			}
		}
		after := server.LastEventID(c)
		if finished(info.State) {
			after = "" // its final state at once, not after the stream's refresh
		}
		events, err := cfg.Inspector.Watch(ctx, id, after)
		if errors.Is(err, jobs.ErrNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		defer func() { // the watch's goroutine ends before the handler does
			stop()
			for range events {
			}
		}()
		sse, err := cfg.SSE.Start(c)
		if err != nil {
			return err
		}
		tick := time.NewTicker(cfg.KeepAlive)
		defer tick.Stop()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return nil // the final event was sent, the job is gone, or the client
				}
				data, err := json.Marshal(EventData{ID: id, Type: ev.Type, State: ev.State, Attempt: ev.Attempt,
					Progress: ev.Progress, Result: ev.Result, LastError: ev.Error})
				if err != nil {
					return nil // a result that is not JSON: the stream cannot go on
				}
				if sse.Send(server.SSEEvent{ID: ev.ID, Event: string(ev.Type), Data: string(data)}) != nil {
					return nil // the client has gone
				}
			case <-tick.C:
				if sse.Comment("keep-alive") != nil {
					return nil
				}
			case <-ctx.Done():
				return nil
			case <-cfg.Stop: // nil: never
				return nil
			}
		}
	}, nil
}

// finished reports whether a job in state s has ended.
func finished(s jobs.State) bool {
	return jobs.Event{Type: jobs.EventState, State: s}.Final()
}
