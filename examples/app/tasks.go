package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/examples/app/internal/report"
	"github.com/gantry-dev/gantry/examples/app/internal/storage"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// The queues of the seed's Celery app, and where each kind goes (its
// task_routes). WORKER_QUEUES chooses which a worker serves.
var (
	queueNames = []string{"default", "email", "image", "reports", "maintenance"}
	routes     = map[string]string{
		SendEmail{}.Kind():        "email",
		BulkEmailSummary{}.Kind(): "email",
		ResizeImage{}.Kind():      "image",
		ThumbnailImage{}.Kind():   "image",
		NotifyImageOwner{}.Kind(): "email",
		UserReport{}.Kind():       "reports",
		DailyReport{}.Kind():      "reports",
		CleanTempFiles{}.Kind():   "maintenance",
		HealthProbe{}.Kind():      "maintenance",
	}
)

// ---- Job arguments: only these JSON fields are stored with a job ----

// SendEmail sends one email: alone (POST /tasks/send-email) or as a
// member of a bulk e-mail's chord (see workflows.go), which sends an
// address once per campaign.
type SendEmail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Content string `json:"content"`
}

// Kind implements jobs.Args.
func (SendEmail) Kind() string { return "send_email" }

// JobDefaults implements jobs.KindDefaults: three retries (the seed's
// max_retries=3; the delay is sendEmailWorker.NextRetry's).
func (SendEmail) JobDefaults() []jobs.Option { return []jobs.Option{jobs.MaxRetry(3)} }

// UserReport builds the sign-ups and posts workbook of a date range.
type UserReport struct {
	Start  string `json:"start_date"`
	End    string `json:"end_date"`
	UserID int64  `json:"user_id"`
}

// Kind implements jobs.Args.
func (UserReport) Kind() string { return "user_report" }

// DailyReport writes yesterday's report into DATA_DIR/reports (beat, 09:00).
type DailyReport struct{}

// Kind implements jobs.Args.
func (DailyReport) Kind() string { return "daily_report" }

// CleanTempFiles removes day-old temporary files (beat, 02:00).
type CleanTempFiles struct{}

// Kind implements jobs.Args.
func (CleanTempFiles) Kind() string { return "cleanup_temp_files" }

// HealthProbe checks the database and Redis from a worker (beat, every 60 s).
type HealthProbe struct{}

// Kind implements jobs.Args.
func (HealthProbe) Kind() string { return "health_probe" }

// ---- Workers ----

// workers registers every job kind's worker.
func (a *app) workers() *jobs.Workers {
	ws := jobs.NewWorkers()
	jobs.AddWorker[SendEmail](ws, sendEmailWorker{a})
	jobs.AddWorker(ws, jobs.WorkerFunc[BulkEmailSummary](a.bulkEmailSummary))
	jobs.AddWorker(ws, jobs.WorkerFunc[ResizeImage](a.resizeImage))
	jobs.AddWorker(ws, jobs.WorkerFunc[ThumbnailImage](a.thumbnailImage))
	jobs.AddWorker[NotifyImageOwner](ws, notifyWorker{a})
	jobs.AddWorker(ws, jobs.WorkerFunc[UserReport](a.userReport))
	jobs.AddWorker(ws, jobs.WorkerFunc[DailyReport](a.dailyReport))
	jobs.AddWorker(ws, jobs.WorkerFunc[CleanTempFiles](a.cleanTempFiles))
	jobs.AddWorker(ws, jobs.WorkerFunc[HealthProbe](a.healthProbe))
	return ws
}

// periodic is the beat schedule, in TIMEZONE.
func periodic() []jobs.PeriodicJob {
	return []jobs.PeriodicJob{
		{Name: "cleanup-temp-files", Spec: "0 2 * * *", Args: CleanTempFiles{}},
		{Name: "send-daily-report", Spec: "0 9 * * *", Args: DailyReport{}},
		{Name: "health-check", Spec: "@every 60s", Args: HealthProbe{}, Options: []jobs.Option{jobs.MaxRetry(0), jobs.Retention(5 * time.Minute)}},
	}
}

// sendEmailWorker sends one email and retries after 60·(n+1) seconds, n
// being the retries so far (the seed's countdown).
type sendEmailWorker struct{ a *app }

func (w sendEmailWorker) Work(ctx context.Context, j *jobs.Job[SendEmail]) error {
	return w.a.sendEmail(ctx, j)
}

// NextRetry implements jobs.RetryDelayer.
func (sendEmailWorker) NextRetry(j *jobs.Job[SendEmail], _ error) time.Duration {
	return time.Duration(60*j.Attempt) * time.Second // Attempt is n+1
}

func (a *app) sendEmail(ctx context.Context, j *jobs.Job[SendEmail]) error {
	msg := mail.Message{To: []string{j.Args.To}, Subject: j.Args.Subject, Text: j.Args.Content}
	if err := msg.Validate(); err != nil {
		return jobs.SkipRetry(err) // retrying cannot fix the message
	}
	if err := a.mailer.Send(ctx, msg); err != nil {
		if mail.Permanent(err) {
			return jobs.SkipRetry(err) // e.g. 550: no such recipient
		}
		return err
	}
	return j.SetResult(map[string]string{"status": "sent", "to": j.Args.To})
}

func (a *app) userReport(ctx context.Context, j *jobs.Job[UserReport]) error {
	r, err := report.ParseRange(j.Args.Start, j.Args.End)
	if err != nil {
		return jobs.SkipRetry(err)
	}
	var buf bytes.Buffer
	n, err := a.writeReport(ctx, &buf, r, func(done, total int) {
		_ = j.Progress(ctx, int64(done), int64(total), "counting")
	})
	if err != nil {
		return err
	}
	f, err := a.storeFile(ctx, j.Args.UserID, r.Filename(), report.ContentType, &buf)
	if err != nil {
		return err
	}
	return j.SetResult(map[string]any{"file_id": f.ID, "url": f.URL, "record_count": n})
}

// writeReport counts sign-ups and posts per UTC day of r (deleted rows
// included: they were created all the same) and writes the workbook.
func (a *app) writeReport(ctx context.Context, w *bytes.Buffer, r report.Range, progress func(done, total int)) (int, error) {
	total := r.Days()
	days := make([]report.Day, 0, total)
	count := func(store interface {
		Count(context.Context, crud.Query) (int64, error)
	}, from, to time.Time) (int, error) {
		n, err := store.Count(ctx, crud.Query{Deleted: crud.WithDeleted, Filters: []crud.Filter{
			{Field: "created_at", Op: crud.Gte, Value: from}, {Field: "created_at", Op: crud.Lt, Value: to},
		}})
		return int(n), err
	}
	records := 0
	for i := range total {
		from := time.Date(r.Start.Year(), r.Start.Month(), r.Start.Day()+i, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 0, 1)
		signups, err := count(a.users, from, to)
		if err != nil {
			return 0, err
		}
		posts, err := count(a.posts, from, to)
		if err != nil {
			return 0, err
		}
		records += signups + posts
		days = append(days, report.Day{Date: from, Signups: signups, Posts: posts})
		if progress != nil && (i%10 == 9 || i == total-1) {
			progress(i+1, total)
		}
	}
	return records, report.Write(w, r, days)
}

func (a *app) dailyReport(ctx context.Context, j *jobs.Job[DailyReport]) error {
	y := time.Now().In(a.zone).AddDate(0, 0, -1)
	r := report.Range{Start: y, End: y}
	var buf bytes.Buffer
	n, err := a.writeReport(ctx, &buf, r, nil)
	if err != nil {
		return err
	}
	dir := filepath.Join(a.cfg.DataDir, "reports")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(dir, "daily-"+r.Filename())
	if err := os.WriteFile(path, buf.Bytes(), 0o640); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "daily report written", "path", path, "records", n)
	return j.SetResult(map[string]any{"path": path, "record_count": n})
}

func (a *app) cleanTempFiles(ctx context.Context, j *jobs.Job[CleanTempFiles]) error {
	n, err := storage.CleanTemp(ctx, a.storage.TempDir(), 24*time.Hour)
	if err != nil {
		return err
	}
	return j.SetResult(map[string]int{"removed": n})
}

func (a *app) healthProbe(ctx context.Context, j *jobs.Job[HealthProbe]) error {
	status := map[string]string{"database": "healthy"}
	if err := a.db.PingContext(ctx); err != nil {
		status["database"] = "unhealthy"
		a.log.WarnContext(ctx, "health probe: database", "error", err)
	}
	if a.rdb != nil {
		status["redis"] = "healthy"
		if err := a.rdb.Ping(ctx).Err(); err != nil {
			status["redis"] = "unhealthy"
			a.log.WarnContext(ctx, "health probe: redis", "error", err)
		}
	}
	return j.SetResult(status)
}

func trimExt(name string) string {
	return name[:len(name)-len(filepath.Ext(name))]
}

// ---- Endpoints ----

// EmailRequest is POST /tasks/send-email.
type EmailRequest struct {
	ToEmail string `json:"to_email" validate:"required,email,max=254" example:"bob@example.com"`
	Subject string `json:"subject" validate:"required,max=200"`
	Content string `json:"content" validate:"required,max=100000"`
}

// BulkEmailRequest is POST /tasks/send-bulk-email.
type BulkEmailRequest struct {
	EmailList []string `json:"email_list" validate:"required,min=1,max=1000,dive,email,max=254"`
	Subject   string   `json:"subject" validate:"required,max=200"`
	Content   string   `json:"content" validate:"required,max=100000"`
}

// ImageRequest is POST /tasks/process-image: a file the caller uploaded,
// never a URL (the server fetches nothing on a client's behalf).
type ImageRequest struct {
	FileID     string   `json:"file_id" validate:"required,max=64"`
	Operations ImageOps `json:"operations" validate:"required"`
}

// ImageOps is the operations list of POST /tasks/process-image, kept as
// the JSON the client sent: imageops.Parse checks it (unknown fields and
// parameters that do not apply to an op included) before the job is
// queued, and its schema states the same rules from imageops' names and
// limits.
type ImageOps []byte

// UnmarshalJSON keeps the raw JSON for imageops.Parse.
func (o *ImageOps) UnmarshalJSON(b []byte) error {
	*o = append((*o)[:0], b...)
	return nil
}

// MarshalJSON writes the list back as it came.
func (o ImageOps) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// OpenAPISchema documents the operations imageops.Parse accepts.
func (ImageOps) OpenAPISchema() *openapi.Schema {
	op := func(name string, required []string, props map[string]*openapi.Schema) *openapi.Schema {
		props["op"] = &openapi.Schema{Type: "string", Enum: []any{name}}
		return &openapi.Schema{Type: "object", Required: append([]string{"op"}, required...), Properties: props}
	}
	size := func(lo int) *openapi.Schema {
		return &openapi.Schema{Type: "integer", Minimum: ptrTo(float64(lo)), Maximum: ptrTo(float64(imageops.MaxDimension))}
	}
	resize := op(imageops.OpResize, nil, map[string]*openapi.Schema{"width": size(0), "height": size(0)})
	resize.Description = "Width and/or height in pixels; a missing one follows from the aspect ratio"
	resize.AnyOf = []*openapi.Schema{
		{Required: []string{"width"}, Properties: map[string]*openapi.Schema{"width": {Minimum: ptrTo(1.0)}}},
		{Required: []string{"height"}, Properties: map[string]*openapi.Schema{"height": {Minimum: ptrTo(1.0)}}},
	}
	return &openapi.Schema{
		Type:        "array",
		Description: "Applied in order to the image",
		MinItems:    ptrTo(1),
		MaxItems:    ptrTo(imageops.MaxOps),
		Examples:    []any{[]any{map[string]any{"op": imageops.OpResize, "width": 200}, map[string]any{"op": imageops.OpGrayscale}}},
		Items: &openapi.Schema{AnyOf: []*openapi.Schema{
			op(imageops.OpGrayscale, nil, map[string]*openapi.Schema{}),
			resize,
			op(imageops.OpThumbnail, []string{"width", "height"}, map[string]*openapi.Schema{"width": size(1), "height": size(1)}),
			op(imageops.OpRotate, []string{"angle"}, map[string]*openapi.Schema{"angle": {Type: "integer", Enum: []any{90, 180, 270}, Description: "Degrees counter-clockwise"}}),
			op(imageops.OpBlur, []string{"sigma"}, map[string]*openapi.Schema{"sigma": {Type: "number", ExclusiveMinimum: ptrTo(0.0), Maximum: ptrTo(float64(imageops.MaxSigma))}}),
		}},
	}
}

func ptrTo[T any](v T) *T { return &v }

// ReportRequest is POST /tasks/reports/users.
type ReportRequest struct {
	StartDate string `json:"start_date" validate:"required,datetime=2006-01-02" example:"2026-01-01"`
	EndDate   string `json:"end_date" validate:"required,datetime=2006-01-02" example:"2026-01-31"`
}

// TaskQueued answers every task endpoint.
type TaskQueued struct {
	TaskID string `json:"task_id"`
	Status string `json:"status" validate:"oneof=queued"`
}

// TaskID is a task id in the path.
type TaskID struct {
	ID string `path:"task_id" validate:"required,max=64"`
}

// TaskStatus is GET /tasks/{task_id}, for a job or a workflow (bulk
// e-mail, image processing: Kind "workflow", with its Steps; see
// workflowStatus).
type TaskStatus struct {
	TaskID     string         `json:"task_id"`
	Kind       string         `json:"kind"`
	State      string         `json:"state" validate:"oneof=pending scheduled active retrying succeeded dead cancelled"`
	Attempts   int            `json:"attempts" doc:"Attempts of a job so far; 0 for a workflow (see its steps' tasks)"`
	Progress   *jobs.Progress `json:"progress,omitempty"`
	Result     map[string]any `json:"result,omitempty"`
	Error      string         `json:"error,omitempty"`
	EnqueuedAt time.Time      `json:"enqueued_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Steps      []TaskStep     `json:"steps,omitempty"`
}

// TaskStep is one step of a workflow task; its task id is a job's,
// readable at GET /tasks/{task_id} too.
type TaskStep struct {
	TaskID string `json:"task_id"`
	Kind   string `json:"kind"`
	State  string `json:"state" validate:"oneof=waiting released succeeded failed cancelled skipped"`
	Error  string `json:"error,omitempty"`
}

func (a *app) enqueue(ctx context.Context, args jobs.Args) (*TaskQueued, error) {
	u, _ := currentUser(ctx)
	info, err := a.jobs.Enqueue(ctx, args, jobs.Owner(u.subject()))
	if err != nil {
		return nil, err
	}
	return &TaskQueued{TaskID: info.ID, Status: "queued"}, nil
}

func (a *app) taskSendEmail(ctx context.Context, in *struct{ Body EmailRequest }) (*TaskQueued, error) {
	return a.enqueue(ctx, SendEmail{To: in.Body.ToEmail, Subject: in.Body.Subject, Content: in.Body.Content})
}

// enqueueWorkflow starts root for the current user; the task id is the
// workflow's.
func (a *app) enqueueWorkflow(ctx context.Context, root jobs.Node) (*TaskQueued, error) {
	u, _ := currentUser(ctx)
	wi, err := a.flows.EnqueueWorkflow(ctx, root, jobs.WorkflowOwner(u.subject()))
	if err != nil {
		return nil, err
	}
	return &TaskQueued{TaskID: wi.ID, Status: "queued"}, nil
}

func (a *app) taskSendBulkEmail(ctx context.Context, in *struct{ Body BulkEmailRequest }) (*TaskQueued, error) {
	return a.enqueueWorkflow(ctx, bulkEmailWorkflow(in.Body))
}

func (a *app) taskProcessImage(ctx context.Context, in *struct{ Body ImageRequest }) (*TaskQueued, error) {
	ops, err := imageops.Parse([]byte(in.Body.Operations))
	if err != nil {
		return nil, err
	}
	f, err := a.ownFile(ctx, in.Body.FileID)
	if err != nil {
		return nil, err
	}
	switch f.ContentType {
	case "image/png", "image/jpeg", "image/gif":
	default:
		return nil, server.NewError(http.StatusUnsupportedMediaType, "file "+f.ID+" is not an image")
	}
	u, _ := currentUser(ctx)
	return a.enqueueWorkflow(ctx, imageWorkflow(f.ID, u.ID, ops))
}

func (a *app) taskUserReport(ctx context.Context, in *struct{ Body ReportRequest }) (*TaskQueued, error) {
	if _, err := report.ParseRange(in.Body.StartDate, in.Body.EndDate); err != nil {
		return nil, err
	}
	u, _ := currentUser(ctx)
	return a.enqueue(ctx, UserReport{Start: in.Body.StartDate, End: in.Body.EndDate, UserID: u.ID})
}

// taskStatus answers only the user who started the task, or an admin; to
// anyone else the task does not exist. The id is a job's or, for the tasks
// that run as workflows, a workflow's.
func (a *app) taskStatus(ctx context.Context, in *TaskID) (*TaskStatus, error) {
	u, p := currentUser(ctx)
	info, err := a.inspect.Job(ctx, in.ID)
	if errors.Is(err, jobs.ErrNotFound) {
		wi, werr := a.inspect.Workflow(ctx, in.ID)
		if werr != nil {
			return nil, werr
		}
		if wi.Owner != u.subject() && !isAdmin(p) {
			return nil, jobs.ErrNotFound
		}
		return a.workflowStatus(ctx, wi), nil
	}
	if err != nil {
		return nil, err
	}
	if info.Owner != u.subject() && !isAdmin(p) {
		return nil, jobs.ErrNotFound
	}
	st := &TaskStatus{
		TaskID: info.ID, Kind: info.Kind, State: string(info.State), Attempts: info.Attempts,
		Progress: info.Progress, Error: info.LastError, EnqueuedAt: info.EnqueuedAt,
	}
	if !info.FinishedAt.IsZero() {
		st.FinishedAt = &info.FinishedAt
	}
	st.Result = decodeResult(info.Result)
	return st, nil
}

// redactJobArgs is what operators see of a job's arguments, on the
// dashboard and from `app jobs`: an e-mail's text may hold what only its
// recipient should read (a reset link, a one-time code), so they see its
// address and subject only. SendEmail is the one kind that stores a text:
// a bulk e-mail's sends are SendEmail steps (its summary keeps the list
// and the subject), and NotifyImageOwner's mail is written by its worker.
func redactJobArgs(kind string, payload json.RawMessage) json.RawMessage {
	switch kind {
	case SendEmail{}.Kind():
		return jobs.RedactFields("content")(kind, payload)
	}
	return payload
}
