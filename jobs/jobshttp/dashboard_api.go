package jobshttp

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/openapi"
)

// Queue is a queue as the dashboard API shows it: counts by state,
// latency, kinds and the throughput of the last minutes.
type Queue struct {
	Name   string `json:"name"`
	Paused bool   `json:"paused"`
	// Counts holds the number of jobs in each state.
	Counts StateCounts `json:"counts"`
	// LatencyMs is the age of the oldest pending job in milliseconds (0
	// when none is pending).
	LatencyMs int64 `json:"latency_ms"`
	// Processed and Failed count the attempts that ended, and those that
	// failed, over History.
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
	// Kinds breaks the queue's jobs down by kind.
	Kinds []KindCount `json:"kinds"`
	// History holds one entry per minute, oldest first, ending with the
	// current (partial) minute.
	History []MinuteCount `json:"history"`
}

// StateCounts counts a queue's jobs by state; succeeded and cancelled
// count those still kept.
type StateCounts struct {
	Pending   int64 `json:"pending"`
	Scheduled int64 `json:"scheduled"`
	Active    int64 `json:"active"`
	Retrying  int64 `json:"retrying"`
	Dead      int64 `json:"dead"`
	Succeeded int64 `json:"succeeded"`
	Cancelled int64 `json:"cancelled"`
}

// KindCount counts one kind's jobs in a queue.
type KindCount struct {
	Kind      string `json:"kind"`
	Pending   int64  `json:"pending"`
	Scheduled int64  `json:"scheduled"`
	Retrying  int64  `json:"retrying"`
	Dead      int64  `json:"dead"`
	Processed int64  `json:"processed"`
	Failed    int64  `json:"failed"`
}

// MinuteCount counts a queue's finished attempts in one minute.
type MinuteCount struct {
	Minute    time.Time `json:"minute"`
	Processed int64     `json:"processed"`
	Failed    int64     `json:"failed"`
}

// QueueList is the answer of GET /api/queues.
type QueueList struct {
	Queues []Queue `json:"queues"`
}

// Job is a job as the dashboard API shows it: its arguments pass through
// DashboardConfig.Redact.
type Job struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Queue    string     `json:"queue"`
	State    jobs.State `json:"state" doc:"pending, scheduled, active, retrying, succeeded, dead or cancelled"`
	Attempts int        `json:"attempts"`
	MaxRetry int        `json:"max_retry"`
	// Payload holds the job's arguments, as DashboardConfig.Redact leaves
	// them.
	Payload   json.RawMessage `json:"payload,omitempty"`
	Progress  *jobs.Progress  `json:"progress,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	LastError string          `json:"last_error,omitempty"`
	// Errors holds the error of each failed attempt, oldest first (the
	// last ones kept).
	Errors     []jobs.AttemptError `json:"errors"`
	EnqueuedAt time.Time           `json:"enqueued_at"`
	ProcessAt  time.Time           `json:"process_at,omitzero"`
	StartedAt  time.Time           `json:"started_at,omitzero"`
	FinishedAt time.Time           `json:"finished_at,omitzero"`
}

// JobList is one page of a queue's jobs in one state.
type JobList struct {
	Queue string     `json:"queue"`
	State jobs.State `json:"state"`
	Jobs  []Job      `json:"jobs"`
	// Next is the cursor of the following page, empty at the end.
	Next string `json:"next,omitempty"`
}

// ActionResult says what an action did.
type ActionResult struct {
	Action string `json:"action" doc:"retry, delete, cancel, pause, resume, retry_dead, delete_dead or cancel_workflow"`
	// Target is the job id, the queue name or the workflow id.
	Target string `json:"target"`
	// Affected is the number of jobs (or queues, or workflows) the action
	// changed.
	Affected int `json:"affected"`
}

// ScheduleList is the answer of GET /api/schedules.
type ScheduleList struct {
	Schedules []jobs.ScheduleInfo `json:"schedules"`
}

// WorkerList is the answer of GET /api/workers.
type WorkerList struct {
	Workers []jobs.WorkerInfo `json:"workers"`
}

type queuesIn struct {
	Minutes int `query:"minutes" validate:"omitempty,min=1,max=60" doc:"Window of the history in minutes (default: the dashboard's, 15)"`
}

type queueIn struct {
	Queue   string `path:"queue" doc:"Queue name"`
	Minutes int    `query:"minutes" validate:"omitempty,min=1,max=60" doc:"Window of the history in minutes (default: the dashboard's, 15)"`
}

type queueActionIn struct {
	Queue string `path:"queue" doc:"Queue name"`
}

type listIn struct {
	Queue  string `path:"queue" doc:"Queue name"`
	State  string `query:"state" default:"pending" validate:"oneof=pending scheduled active retrying succeeded dead cancelled" doc:"State to list"`
	Kind   string `query:"kind" validate:"max=200" doc:"Only jobs of this kind"`
	Order  string `query:"order" validate:"omitempty,oneof=oldest newest" doc:"Default: oldest for pending, scheduled, active and retrying; newest for finished states"`
	Cursor string `query:"cursor" validate:"max=1024,printascii" doc:"The next cursor of the previous page; empty for the first page"`
	Limit  int    `query:"limit" default:"50" validate:"min=1,max=1000" doc:"Page size"`
}

type jobIn struct {
	ID string `path:"id" doc:"Job id"`
}

func (d *Dashboard) mountAPI(api *openapi.API) {
	unavailable := openapi.Errors(http.StatusServiceUnavailable)
	action := openapi.Errors(http.StatusForbidden, http.StatusServiceUnavailable)
	openapi.Get(api, "/queues", d.apiQueues, unavailable, openapi.OperationID("jobsListQueues"),
		openapi.Summary("Every queue: counts by state, latency, kinds, throughput"))
	openapi.Get(api, "/queues/{queue}", d.apiQueue, unavailable, openapi.OperationID("jobsGetQueue"),
		openapi.Summary("One queue: counts by state, latency, kinds, throughput"), openapi.Errors(http.StatusNotFound))
	openapi.Get(api, "/queues/{queue}/jobs", d.apiJobs, unavailable, openapi.OperationID("jobsListJobs"),
		openapi.Summary("A page of a queue's jobs in one state"), openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/queues/{queue}/pause", d.apiPause, action, openapi.OperationID("jobsPauseQueue"),
		openapi.Summary("Pause a queue: workers stop taking its jobs"), openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/queues/{queue}/resume", d.apiResume, action, openapi.OperationID("jobsResumeQueue"),
		openapi.Summary("Resume a paused queue"), openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/queues/{queue}/dead/retry", d.apiRetryDead, action, openapi.OperationID("jobsRetryAllDead"),
		openapi.Summary("Make every dead job of a queue pending again"), openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/queues/{queue}/dead/delete", d.apiDeleteDead, action, openapi.OperationID("jobsDeleteAllDead"),
		openapi.Summary("Delete every dead job of a queue"), openapi.Errors(http.StatusNotFound))
	openapi.Get(api, "/jobs/{id}", d.apiJob, unavailable, openapi.OperationID("jobsGetJob"),
		openapi.Summary("A job: state, attempts and their errors, arguments, progress, result"), openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/jobs/{id}/retry", d.apiRetry, action, openapi.OperationID("jobsRetryJob"),
		openapi.Summary("Run a dead, retrying or scheduled job now"), openapi.Errors(http.StatusNotFound, http.StatusConflict))
	openapi.Post(api, "/jobs/{id}/delete", d.apiDelete, action, openapi.OperationID("jobsDeleteJob"),
		openapi.Summary("Delete a job that is not running"), openapi.Errors(http.StatusNotFound, http.StatusConflict))
	openapi.Post(api, "/jobs/{id}/cancel", d.apiCancel, action, openapi.OperationID("jobsCancelJob"),
		openapi.Summary("Cancel a waiting or running job"), openapi.Errors(http.StatusNotFound, http.StatusConflict))
	d.mountWorkflowAPI(api)
	openapi.Get(api, "/schedules", d.apiSchedules, unavailable, openapi.OperationID("jobsListSchedules"),
		openapi.Summary("The periodic jobs of the running schedulers"))
	openapi.Get(api, "/workers", d.apiWorkers, unavailable, openapi.OperationID("jobsListWorkers"),
		openapi.Summary("The runner processes online"))
}

func (d *Dashboard) minutes(m int) int {
	if m <= 0 {
		return d.cfg.StatsMinutes
	}
	return m
}

func (d *Dashboard) apiQueues(ctx context.Context, in *queuesIn) (*QueueList, error) {
	qs, err := d.queues(ctx, d.minutes(in.Minutes))
	if err != nil {
		return nil, err
	}
	return &QueueList{Queues: qs}, nil
}

// queues returns every queue's stats, by name.
func (d *Dashboard) queues(ctx context.Context, minutes int) ([]Queue, error) {
	names, err := d.insp.Queues(ctx)
	if err != nil {
		return nil, backendError(err)
	}
	slices.Sort(names)
	out := make([]Queue, 0, len(names))
	for _, n := range names {
		q, err := d.queue(ctx, n, minutes)
		if err != nil {
			return nil, err
		}
		out = append(out, *q)
	}
	return out, nil
}

func (d *Dashboard) queue(ctx context.Context, name string, minutes int) (*Queue, error) {
	st, err := d.insp.Stats(ctx, name, minutes)
	if err != nil {
		return nil, backendError(err)
	}
	return queueOf(name, st), nil
}

func queueOf(name string, st *jobs.QueueStats) *Queue {
	q := &Queue{
		Name:   name,
		Paused: st.Paused,
		Counts: StateCounts{
			Pending: st.Pending, Scheduled: st.Scheduled, Active: st.Active, Retrying: st.Retrying,
			Dead: st.Dead, Succeeded: st.Succeeded, Cancelled: st.Cancelled,
		},
		LatencyMs: st.Latency.Milliseconds(),
		Kinds:     make([]KindCount, 0, len(st.Kinds)),
		History:   make([]MinuteCount, 0, len(st.History)),
	}
	for _, k := range st.Kinds {
		q.Kinds = append(q.Kinds, KindCount(k))
	}
	slices.SortFunc(q.Kinds, func(a, b KindCount) int { return cmp.Compare(a.Kind, b.Kind) })
	for _, m := range st.History {
		q.History = append(q.History, MinuteCount(m))
		q.Processed += m.Processed
		q.Failed += m.Failed
	}
	return q
}

func (d *Dashboard) apiQueue(ctx context.Context, in *queueIn) (*Queue, error) {
	if err := d.queueExists(ctx, in.Queue); err != nil {
		return nil, err
	}
	return d.queue(ctx, in.Queue, d.minutes(in.Minutes))
}

func (d *Dashboard) apiJobs(ctx context.Context, in *listIn) (*JobList, error) {
	if err := d.queueExists(ctx, in.Queue); err != nil {
		return nil, err
	}
	return d.list(ctx, in)
}

// list returns one page of a queue's jobs, for a queue known to exist.
func (d *Dashboard) list(ctx context.Context, in *listIn) (*JobList, error) {
	page, err := d.insp.List(ctx, in.Queue, jobs.ListOptions{
		State: jobs.State(in.State), Kind: in.Kind, Order: jobs.Order(in.Order), Cursor: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return nil, backendError(err)
	}
	out := &JobList{Queue: in.Queue, State: jobs.State(in.State), Jobs: make([]Job, 0, len(page.Jobs)), Next: page.Next}
	for _, j := range page.Jobs {
		out.Jobs = append(out.Jobs, d.job(j))
	}
	return out, nil
}

func (d *Dashboard) job(j *jobs.JobInfo) Job {
	out := Job{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: j.State, Attempts: j.Attempts, MaxRetry: j.MaxRetry,
		Payload: d.redact(j.Kind, j.Payload), Progress: j.Progress, Result: j.Result, LastError: j.LastError,
		Errors: j.Errors, EnqueuedAt: j.EnqueuedAt, ProcessAt: j.ProcessAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
	}
	if out.Errors == nil {
		out.Errors = []jobs.AttemptError{}
	}
	return out
}

func (d *Dashboard) apiJob(ctx context.Context, in *jobIn) (*Job, error) {
	j, err := d.insp.Job(ctx, in.ID)
	if err != nil {
		return nil, backendError(err)
	}
	out := d.job(j)
	return &out, nil
}

func one(err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return 1, nil
}

func (d *Dashboard) apiRetry(ctx context.Context, in *jobIn) (*ActionResult, error) {
	return d.act(ctx, "retry", in.ID, func() (int, error) { return one(d.insp.RetryNow(ctx, in.ID)) })
}

func (d *Dashboard) apiDelete(ctx context.Context, in *jobIn) (*ActionResult, error) {
	return d.act(ctx, "delete", in.ID, func() (int, error) { return one(d.insp.Delete(ctx, in.ID)) })
}

func (d *Dashboard) apiCancel(ctx context.Context, in *jobIn) (*ActionResult, error) {
	return d.act(ctx, "cancel", in.ID, func() (int, error) { return one(d.insp.Cancel(ctx, in.ID)) })
}

// queueAction runs an action on a queue the backend knows.
func (d *Dashboard) queueAction(ctx context.Context, action, queue string, f func() (int, error)) (*ActionResult, error) {
	return d.act(ctx, action, queue, func() (int, error) {
		if err := d.queueExists(ctx, queue); err != nil {
			return 0, err
		}
		return f()
	})
}

func (d *Dashboard) apiPause(ctx context.Context, in *queueActionIn) (*ActionResult, error) {
	return d.queueAction(ctx, "pause", in.Queue, func() (int, error) { return one(d.insp.Pause(ctx, in.Queue)) })
}

func (d *Dashboard) apiResume(ctx context.Context, in *queueActionIn) (*ActionResult, error) {
	return d.queueAction(ctx, "resume", in.Queue, func() (int, error) { return one(d.insp.Resume(ctx, in.Queue)) })
}

func (d *Dashboard) apiRetryDead(ctx context.Context, in *queueActionIn) (*ActionResult, error) {
	return d.queueAction(ctx, "retry_dead", in.Queue, func() (int, error) { return d.insp.RetryAllDead(ctx, in.Queue) })
}

func (d *Dashboard) apiDeleteDead(ctx context.Context, in *queueActionIn) (*ActionResult, error) {
	return d.queueAction(ctx, "delete_dead", in.Queue, func() (int, error) { return d.insp.DeleteAllDead(ctx, in.Queue) })
}

func (d *Dashboard) apiSchedules(ctx context.Context, _ *openapi.Empty) (*ScheduleList, error) {
	s, err := d.insp.Schedules(ctx)
	if err != nil {
		return nil, backendError(err)
	}
	if s == nil {
		s = []jobs.ScheduleInfo{}
	}
	return &ScheduleList{Schedules: s}, nil
}

func (d *Dashboard) apiWorkers(ctx context.Context, _ *openapi.Empty) (*WorkerList, error) {
	w, err := d.insp.Workers(ctx)
	if err != nil {
		return nil, backendError(err)
	}
	if w == nil {
		w = []jobs.WorkerInfo{}
	}
	for i := range w {
		if w[i].Queues == nil {
			w[i].Queues = map[string]int{}
		}
	}
	return &WorkerList{Workers: w}, nil
}
