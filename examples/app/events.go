package main

import (
	"context"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
	"github.com/gantry-dev/gantry/openapi"
)

// taskEvents is GET /tasks/{task_id}/events: the task's state changes and
// progress reports as server-sent events (jobshttp.EventsConfig: a
// snapshot first, then each change, the final state with the result or
// error last; Last-Event-ID resumes), across instances when the jobs are
// in Redis. It answers whoever may read the task's status (taskStatus's
// rule: the user who started it, or an admin); to anyone else the task
// does not exist. A workflow id is not a task: 404. Each event's data is
// jobshttp.EventData (the job's id, type, state, attempt, progress,
// result, last_error). A drain ends open streams (their clients reconnect
// with Last-Event-ID elsewhere) instead of holding it to its timeout.
func (a *app) taskEvents(ctx context.Context, in *TaskID) (*openapi.EventStream, error) {
	info, err := a.inspect.Job(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	u, p := currentUser(ctx)
	if info.Owner != u.subject() && !isAdmin(p) {
		return nil, jobs.ErrNotFound
	}
	stream, err := jobshttp.EventsConfig{Inspector: a.inspect, Param: "task_id", Stop: a.drained}.ToHandler()
	if err != nil {
		return nil, err
	}
	return &openapi.EventStream{Serve: stream}, nil
}
