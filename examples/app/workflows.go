package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/examples/app/internal/storage"
	"github.com/gantry-dev/gantry/jobs"
)

// Two task endpoints start workflows of package jobs rather than single
// jobs; their task id is the workflow's id, and taskStatus answers for it
// (workflowStatus):
//
//   - POST /tasks/send-bulk-email is a chord: a group of SendEmail steps,
//     one per address (listed twice, in any case, an address gets one),
//     then a BulkEmailSummary callback that runs even when some sends
//     failed (jobs.Partial) and stores what happened to every address.
//   - POST /tasks/process-image is a chain: ResizeImage applies the
//     requested operations and stores the output, ThumbnailImage makes a
//     thumbnail of that output (read from the step before through
//     Job.Inputs), NotifyImageOwner mails the owner both links. A step that
//     fails for good skips the rest.

// ---- Bulk e-mail: a chord ----

// BulkEmailSummary is the callback of the bulk e-mail chord: it reads the
// outcome of every send and stores the campaign's result. Emails is the
// list as the client sent it, duplicates included; the chord's members are
// its distinct addresses in order (bulkRecipients).
type BulkEmailSummary struct {
	Emails  []string `json:"emails"`
	Subject string   `json:"subject"`
}

// Kind implements jobs.Args.
func (BulkEmailSummary) Kind() string { return "bulk_email_summary" }

// JobDefaults implements jobs.KindDefaults: reading the members' outcomes
// fails only if the backend does, which a few retries outlast.
func (BulkEmailSummary) JobDefaults() []jobs.Option { return []jobs.Option{jobs.MaxRetry(5)} }

// BulkEmailResult is the summary's result, the bulk task's result once it
// is done: how many mails were sent and failed, and each listed address in
// the order given, with the id of its send's task, or marked as a
// duplicate of an address listed before it (one mail per address per
// campaign).
type BulkEmailResult struct {
	Total     int           `json:"total"`
	Sent      int           `json:"sent"`
	Failed    int           `json:"failed"`
	Addresses []BulkAddress `json:"addresses"`
}

// BulkAddress is what happened to one listed address.
type BulkAddress struct {
	Address   string `json:"address"`
	Status    string `json:"status"` // sent, failed or duplicate
	TaskID    string `json:"task_id,omitempty"`
	Error     string `json:"error,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// bulkRecipients returns the distinct addresses of emails in order, an
// address being the same in any case and with surrounding spaces, and for
// each entry of emails the index of its address among them.
func bulkRecipients(emails []string) (distinct []string, index []int) {
	seen := make(map[string]int, len(emails))
	index = make([]int, len(emails))
	for i, e := range emails {
		key := strings.ToLower(strings.TrimSpace(e))
		n, ok := seen[key]
		if !ok {
			n = len(distinct)
			seen[key] = n
			distinct = append(distinct, e)
		}
		index[i] = n
	}
	return distinct, index
}

// bulkEmailWorkflow is the chord of a bulk e-mail.
func bulkEmailWorkflow(req BulkEmailRequest) jobs.Node {
	distinct, _ := bulkRecipients(req.EmailList)
	sends := make([]jobs.Node, len(distinct))
	for i, to := range distinct {
		sends[i] = jobs.Step(SendEmail{To: to, Subject: req.Subject, Content: req.Content})
	}
	return jobs.Chord(jobs.Group(sends...),
		jobs.Step(BulkEmailSummary{Emails: req.EmailList, Subject: req.Subject}), jobs.Partial())
}

func (a *app) bulkEmailSummary(ctx context.Context, j *jobs.Job[BulkEmailSummary]) error {
	in, err := j.Inputs(ctx)
	if err != nil {
		return err
	}
	distinct, index := bulkRecipients(j.Args.Emails)
	if len(in) != len(distinct) {
		return jobs.SkipRetry(fmt.Errorf("bulk e-mail summary: %d sends for %d addresses", len(in), len(distinct)))
	}
	res := BulkEmailResult{Total: len(j.Args.Emails), Addresses: make([]BulkAddress, len(j.Args.Emails))}
	reported := make([]bool, len(distinct))
	for i, addr := range j.Args.Emails {
		n := index[i]
		if reported[n] {
			res.Addresses[i] = BulkAddress{Address: addr, Status: "duplicate", Duplicate: true}
			continue
		}
		reported[n] = true
		s := in[n]
		out := BulkAddress{Address: addr, TaskID: s.JobID}
		if s.State == jobs.StepSucceeded {
			out.Status = "sent"
			res.Sent++
		} else {
			out.Status, out.Error = "failed", s.Error
			if out.Error == "" {
				out.Error = string(s.State)
			}
			res.Failed++
		}
		res.Addresses[i] = out
	}
	return j.SetResult(res)
}

// ---- Image processing: a chain ----

// thumbnailSize is the box the chain's thumbnail fits in.
const thumbnailSize = 128

// ResizeImage is the image chain's first step: it applies the requested
// operations (a resize among them, as a rule) to an uploaded image and
// stores the output as a new file of the same user.
type ResizeImage struct {
	FileID string        `json:"file_id"`
	UserID int64         `json:"user_id"`
	Ops    []imageops.Op `json:"operations"`
}

// Kind implements jobs.Args.
func (ResizeImage) Kind() string { return "resize_image" }

// JobDefaults implements jobs.KindDefaults: a few retries (a bad image is
// not retried at all) and a bound on a stuck decode.
func (ResizeImage) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.MaxRetry(3), jobs.Timeout(2 * time.Minute)}
}

// ThumbnailImage is the image chain's second step: a thumbnail of the
// image the step before stored (its result's file_id), fitting a Width ×
// Height box, stored for the same user.
type ThumbnailImage struct {
	UserID int64 `json:"user_id"`
	Width  int   `json:"width"`
	Height int   `json:"height"`
}

// Kind implements jobs.Args.
func (ThumbnailImage) Kind() string { return "thumbnail_image" }

// JobDefaults implements jobs.KindDefaults, as ResizeImage's.
func (ThumbnailImage) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.MaxRetry(3), jobs.Timeout(2 * time.Minute)}
}

// NotifyImageOwner is the image chain's last step: it mails the user the
// links of the processed image and its thumbnail. The mail's text is
// written by the worker, so it is never stored with the job.
type NotifyImageOwner struct {
	UserID int64 `json:"user_id"`
}

// Kind implements jobs.Args.
func (NotifyImageOwner) Kind() string { return "notify_image_owner" }

// JobDefaults implements jobs.KindDefaults: an e-mail's max_retries=3
// (the delay is notifyWorker.NextRetry's, as SendEmail's).
func (NotifyImageOwner) JobDefaults() []jobs.Option { return []jobs.Option{jobs.MaxRetry(3)} }

// ImageFile is a stored image in the chain's results.
type ImageFile struct {
	FileID string `json:"file_id"`
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// ImageResult is what the image chain's steps hand on and, from the last
// one, the task's result: the processed image, its thumbnail once made,
// and whether the owner was mailed.
type ImageResult struct {
	ImageFile
	Thumbnail *ImageFile `json:"thumbnail,omitempty"`
	Notified  bool       `json:"notified,omitempty"`
}

// imageWorkflow is the chain of an image task.
func imageWorkflow(fileID string, userID int64, ops []imageops.Op) jobs.Node {
	return jobs.Chain(
		jobs.Step(ResizeImage{FileID: fileID, UserID: userID, Ops: ops}),
		jobs.Step(ThumbnailImage{UserID: userID, Width: thumbnailSize, Height: thumbnailSize}),
		jobs.Step(NotifyImageOwner{UserID: userID}),
	)
}

// previousImage decodes the result of the step before in the chain.
func previousImage(ctx context.Context, inputs func(context.Context) ([]jobs.StepResult, error)) (ImageResult, error) {
	var r ImageResult
	in, err := inputs(ctx)
	if err != nil {
		return r, err
	}
	if len(in) != 1 {
		return r, jobs.SkipRetry(fmt.Errorf("want the result of one step before, have %d", len(in)))
	}
	if err := in[0].Decode(&r); err != nil {
		return r, jobs.SkipRetry(fmt.Errorf("step %s: %w", in[0].JobID, err))
	}
	if r.FileID == "" {
		return r, jobs.SkipRetry(fmt.Errorf("step %s: no image in its result", in[0].JobID))
	}
	return r, nil
}

// transform runs ops on the stored file id and stores the output for
// owner as "<name><suffix><ext>", reporting progress per operation.
func (a *app) transform(ctx context.Context, id string, owner int64, suffix string, ops []imageops.Op, progress imageops.ProgressFunc) (ImageFile, error) {
	rc, obj, err := a.storage.Open(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ImageFile{}, jobs.SkipRetry(err)
	}
	if err != nil {
		return ImageFile{}, err
	}
	defer rc.Close()
	var out bytes.Buffer
	res, err := a.images.Process(ctx, &out, rc, ops, progress)
	if err != nil {
		var ie *imageops.Error
		if errors.As(err, &ie) {
			return ImageFile{}, jobs.SkipRetry(err) // a bad image stays bad
		}
		return ImageFile{}, err
	}
	f, err := a.storeFile(ctx, owner, trimExt(obj.Name)+suffix+res.Extension, res.ContentType, &out)
	if err != nil {
		return ImageFile{}, err
	}
	return ImageFile{FileID: f.ID, URL: f.URL, Width: res.Width, Height: res.Height}, nil
}

func (a *app) resizeImage(ctx context.Context, j *jobs.Job[ResizeImage]) error {
	_ = j.Progress(ctx, 0, int64(len(j.Args.Ops)), "processing")
	f, err := a.transform(ctx, j.Args.FileID, j.Args.UserID, "-processed", j.Args.Ops, func(done, total int, msg string) {
		_ = j.Progress(ctx, int64(done), int64(total), msg)
	})
	if err != nil {
		return err
	}
	return j.SetResult(ImageResult{ImageFile: f})
}

func (a *app) thumbnailImage(ctx context.Context, j *jobs.Job[ThumbnailImage]) error {
	prev, err := previousImage(ctx, j.Inputs)
	if err != nil {
		return err
	}
	op := imageops.Op{Op: imageops.OpThumbnail, Width: j.Args.Width, Height: j.Args.Height}
	if err := imageops.Validate([]imageops.Op{op}); err != nil {
		return jobs.SkipRetry(err)
	}
	thumb, err := a.transform(ctx, prev.FileID, j.Args.UserID, "-thumb", []imageops.Op{op}, nil)
	if err != nil {
		return err
	}
	prev.Thumbnail = &thumb
	return j.SetResult(prev)
}

// notifyWorker mails the owner, retrying as sendEmailWorker does.
type notifyWorker struct{ a *app }

// NextRetry implements jobs.RetryDelayer: 60·(n+1) seconds, as an e-mail.
func (notifyWorker) NextRetry(j *jobs.Job[NotifyImageOwner], _ error) time.Duration {
	return time.Duration(60*j.Attempt) * time.Second
}

func (w notifyWorker) Work(ctx context.Context, j *jobs.Job[NotifyImageOwner]) error {
	a := w.a
	prev, err := previousImage(ctx, j.Inputs)
	if err != nil {
		return err
	}
	u, err := a.users.Get(ctx, j.Args.UserID)
	if errors.Is(err, crud.ErrNotFound) || (err == nil && u.Email == "") {
		return j.SetResult(prev) // nobody to tell: the images are there all the same
	}
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Your image is ready: %s (%d × %d pixels).\n", prev.URL, prev.Width, prev.Height)
	if t := prev.Thumbnail; t != nil {
		text += fmt.Sprintf("Its thumbnail: %s (%d × %d pixels).\n", t.URL, t.Width, t.Height)
	}
	msg := mail.Message{To: []string{u.Email}, Subject: "Your image is ready", Text: text}
	if err := a.mailer.Send(ctx, msg); err != nil {
		if mail.Permanent(err) {
			return jobs.SkipRetry(err)
		}
		return err
	}
	prev.Notified = true
	return j.SetResult(prev)
}

// ---- Status ----

// workflowStatus is the TaskStatus of a workflow. Its state reads as a
// job's: pending until a step has started, active while steps remain,
// succeeded once the final step (the one nothing waits for: a chain's last,
// a chord's callback) succeeded, even if a chord member it was told about
// failed, dead when a failure kept it from running, cancelled. The result
// is the final step's; progress counts the steps that ended.
func (a *app) workflowStatus(ctx context.Context, wi *jobs.WorkflowInfo) *TaskStatus {
	st := &TaskStatus{TaskID: wi.ID, Kind: "workflow", EnqueuedAt: wi.CreatedAt}
	if !wi.FinishedAt.IsZero() {
		st.FinishedAt = &wi.FinishedAt
	}
	waited := make([]bool, len(wi.Steps))
	for _, s := range wi.Steps {
		for _, d := range s.DependsOn {
			waited[d] = true
		}
	}
	final := -1
	var ended, total int64
	var released []string
	var failure string // the first failed or cancelled step's error
	for i, s := range wi.Steps {
		if s.OnFailure {
			continue
		}
		total++
		st.Steps = append(st.Steps, TaskStep{TaskID: s.JobID, Kind: s.Kind, State: string(s.State), Error: s.Error})
		switch s.State {
		case jobs.StepWaiting:
		case jobs.StepReleased:
			released = append(released, s.JobID)
		default:
			ended++
		}
		if failure == "" && (s.State == jobs.StepFailed || s.State == jobs.StepCancelled) {
			failure = s.Kind + ": " + s.Error
		}
		if !waited[i] {
			final = i
			if s.State == jobs.StepSucceeded {
				st.Result = decodeResult(s.Result)
			}
		}
	}
	st.Progress = &jobs.Progress{Current: ended, Total: total, Message: "steps ended"}
	finalOK := final >= 0 && wi.Steps[final].State == jobs.StepSucceeded
	switch wi.State {
	case jobs.WorkflowSucceeded:
		st.State = string(jobs.StateSucceeded)
	case jobs.WorkflowCancelled:
		st.State, st.Error = string(jobs.StateCancelled), failure
	case jobs.WorkflowFailed:
		// A chord's callback that ran with Partial has the last word: the
		// failures it was told of are in its result.
		st.State, st.Error = string(jobs.StateDead), failure
		if finalOK {
			st.State, st.Error = string(jobs.StateSucceeded), ""
		}
	default:
		st.State = string(jobs.StatePending)
		if ended > 0 || a.anyStarted(ctx, released) {
			st.State = string(jobs.StateActive)
		}
	}
	return st
}

// anyStarted reports whether a job of ids (the first few) has left the
// pending state; a lookup that fails counts as not started.
func (a *app) anyStarted(ctx context.Context, ids []string) bool {
	for _, id := range ids[:min(len(ids), 8)] {
		info, err := a.inspect.Job(ctx, id)
		if err == nil && info.State != jobs.StatePending && info.State != jobs.StateScheduled {
			return true
		}
	}
	return false
}

// decodeResult is a stored result as TaskStatus shows it.
func decodeResult(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return map[string]any{"value": raw}
	}
	return m
}
