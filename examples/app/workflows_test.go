package main

// The tasks that run as workflows, end to end in-process: the routes on a
// real HTTP server, the jobs on the memory backend and on Redis with a real
// worker, the mail through a real SMTP server.

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/jobs"
)

// newWorkflowApp is the fake app with real jobs on b, a worker serving the
// email and image queues, and mail through an SMTP sink that rejects the
// addresses in reject. The API's rate limit is out of the way of polling.
func newWorkflowApp(t *testing.T, b jobs.Backend, reject ...string) (*fakeApp, *smtpSink) {
	t.Helper()
	f := newFakeApp(t, map[string]string{"RATE_LIMIT_REQUESTS": "100000"})
	withJobs(t, f, b)
	sink := newSMTPSink(t, reject...)
	port, _ := strconv.Atoi(sink.port)
	m, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, From: "app@example.com", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.mailer = m
	run, err := f.newWorker("email=1,image=1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f, sink
}

// awaitEnd polls a task's status until it has ended and returns it.
func awaitEnd(c *client, id string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := c.want(200, "GET", "/api/v1/tasks/"+id, nil)
		switch str(st["state"]) {
		case "succeeded", "dead", "cancelled":
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("task %s not ended within 30s: %v", id, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stepStates lists the states of a workflow task's steps.
func stepStates(st map[string]any) []string {
	steps, _ := st["steps"].([]any)
	var out []string
	for _, s := range steps {
		out = append(out, str(s.(map[string]any)["state"]))
	}
	return out
}

// progressOf is a status's progress as "current/total".
func progressOf(st map[string]any) string {
	p, _ := st["progress"].(map[string]any)
	return fmt.Sprintf("%v/%v", p["current"], p["total"])
}

// A bulk e-mail to five addresses, one listed twice (in another case) and
// one the server refuses for good: three mails go out, the summary runs all
// the same and counts them, and the task's status shows it to its owner
// (and an admin) only. No step's arguments, as operators see them, show
// the e-mail's text.
func TestBulkEmailChord(t *testing.T) {
	t.Parallel()
	for _, bk := range jobBackends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			f, sink := newWorkflowApp(t, bk.new(t), "bounce@example.com")
			_, aliceToken := f.user(t, "alice", false)
			_, bobToken := f.user(t, "bob", false)
			_, rootToken := f.user(t, "root", true)
			alice := &client{t: t, base: f.base, token: aliceToken}
			const text = "Hello all: the secret code is 314159"
			emails := []string{"ann@example.com", "bea@example.com", "ANN@example.com", "bounce@example.com", "cy@example.com"}
			queued := alice.want(202, "POST", "/api/v1/tasks/send-bulk-email", map[string]any{"email_list": emails, "subject": "News", "content": text})
			id := str(queued["task_id"])
			alice.as(bobToken).want(404, "GET", "/api/v1/tasks/"+id, nil)

			st := awaitEnd(alice, id)
			if str(st["state"]) != "succeeded" || str(st["kind"]) != "workflow" || progressOf(st) != "5/5" || st["finished_at"] == nil {
				t.Errorf("status = %v; want succeeded, 5/5 steps ended", st)
			}
			if got := stepStates(st); !slices.Equal(got, []string{"succeeded", "succeeded", "failed", "succeeded", "succeeded"}) {
				t.Errorf("step states = %v; want the rejected address's send failed, the summary succeeded", got)
			}
			raw, _ := json.Marshal(st["result"])
			var res BulkEmailResult
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatalf("result %s: %v", raw, err)
			}
			if res.Total != 5 || res.Sent != 3 || res.Failed != 1 || len(res.Addresses) != 5 {
				t.Fatalf("result %s; want 5 listed, 3 sent, 1 failed", raw)
			}
			want := []struct {
				status    string
				duplicate bool
			}{{"sent", false}, {"sent", false}, {"duplicate", true}, {"failed", false}, {"sent", false}}
			for i, a := range res.Addresses {
				w := want[i]
				if a.Address != emails[i] || a.Status != w.status || a.Duplicate != w.duplicate || (a.TaskID == "") != w.duplicate {
					t.Errorf("address %d = %+v; want %s %s, duplicate %v, a task id unless a duplicate", i, a, emails[i], w.status, w.duplicate)
				}
			}
			if e := res.Addresses[3].Error; !strings.Contains(e, "550") {
				t.Errorf("the rejected address's error %q; want the server's 550", e)
			}
			if strings.Contains(string(raw), text) {
				t.Errorf("the result shows the e-mail's text: %s", raw)
			}

			// The sends are tasks of their own, for the same user; the
			// rejected one was not retried (a 550 stays a 550).
			for _, i := range []int{0, 1, 4} {
				sent := alice.want(200, "GET", "/api/v1/tasks/"+res.Addresses[i].TaskID, nil)
				if str(sent["state"]) != "succeeded" {
					t.Errorf("send to %s = %v", emails[i], sent)
				}
			}
			bounce := alice.want(200, "GET", "/api/v1/tasks/"+res.Addresses[3].TaskID, nil)
			if str(bounce["state"]) != "dead" || bounce["attempts"] != 1.0 {
				t.Errorf("send to the rejected address = %v; want dead after 1 attempt", bounce)
			}
			alice.as(bobToken).want(404, "GET", "/api/v1/tasks/"+res.Addresses[0].TaskID, nil)
			if admin := alice.as(rootToken).want(200, "GET", "/api/v1/tasks/"+id, nil); str(admin["state"]) != "succeeded" {
				t.Errorf("an admin sees %v", admin)
			}

			var to []string
			for _, m := range sink.messages() {
				to = append(to, m.To...)
			}
			slices.Sort(to)
			if !slices.Equal(to, []string{"ann@example.com", "bea@example.com", "cy@example.com"}) {
				t.Errorf("mail went to %v; want ann, bea and cy once each", to)
			}

			wi, err := f.inspect.Workflow(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range wi.Steps {
				info, err := f.inspect.Job(t.Context(), s.JobID)
				if err != nil {
					t.Fatal(err)
				}
				if shown := redactJobArgs(info.Kind, info.Payload); strings.Contains(string(shown), "314159") {
					t.Errorf("step %d (%s) shows operators %s", s.Step, s.Kind, shown)
				}
			}
		})
	}
}

// The image chain: resize, then a thumbnail of the resized image, then a
// mail to the owner with both links, in that order (each step works on the
// one before's output); a resize that fails for good skips the rest and the
// task is dead.
func TestImageChain(t *testing.T) {
	t.Parallel()
	for _, bk := range jobBackends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			f, sink := newWorkflowApp(t, bk.new(t))
			_, aliceToken := f.user(t, "alice", false)
			_, bobToken := f.user(t, "bob", false)
			alice := &client{t: t, base: f.base, token: aliceToken}
			photo := alice.want(201, "POST", "/api/v1/files", fileBody(t, "photo.png", pngImage(t, 400, 300)))

			id := str(alice.want(202, "POST", "/api/v1/tasks/process-image", map[string]any{
				"file_id": str(photo["id"]), "operations": []map[string]any{{"op": "resize", "width": 300}, {"op": "grayscale"}}})["task_id"])
			alice.as(bobToken).want(404, "GET", "/api/v1/tasks/"+id, nil)
			st := awaitEnd(alice, id)
			if str(st["state"]) != "succeeded" || progressOf(st) != "3/3" {
				t.Fatalf("status = %v; want succeeded, 3/3 steps ended", st)
			}
			raw, _ := json.Marshal(st["result"])
			var res ImageResult
			if err := json.Unmarshal(raw, &res); err != nil || res.Thumbnail == nil {
				t.Fatalf("result %s: %v", raw, err)
			}
			if res.Width != 300 || res.Height != 225 || res.Thumbnail.Width != 128 || res.Thumbnail.Height != 96 || !res.Notified {
				t.Errorf("result %s; want 300×225, a 128×96 thumbnail, the owner notified", raw)
			}
			for _, img := range []ImageFile{res.ImageFile, *res.Thumbnail} {
				code, out, _ := alice.do("GET", img.URL, nil)
				cfg, _, err := image.DecodeConfig(strings.NewReader(str(out["_raw"])))
				if code != 200 || err != nil || cfg.Width != img.Width || cfg.Height != img.Height {
					t.Errorf("GET %s = %d, %dx%d (%v); want %dx%d", img.URL, code, cfg.Width, cfg.Height, err, img.Width, img.Height)
				}
			}
			// The thumbnail was made from the resized image, not the upload.
			if thumb, err := f.files.Get(t.Context(), res.Thumbnail.FileID); err != nil || thumb.Name != "photo-processed-thumb.png" {
				t.Errorf("thumbnail file = %+v, %v; want photo-processed-thumb.png", thumb, err)
			}
			// The mail reached the owner and names both files: it was
			// written after the thumbnail's step.
			msgs := sink.messages()
			if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"alice@example.com"}) {
				t.Fatalf("mail sent: %+v; want one to alice@example.com", msgs)
			}
			if body := mailText(t, msgs[0].Data); !strings.Contains(body, res.URL) || !strings.Contains(body, res.Thumbnail.URL) {
				t.Errorf("the mail reads %q; want the links of the image and its thumbnail", body)
			}

			// A broken image: the resize fails for good, at once; the rest
			// never runs.
			broken := alice.want(201, "POST", "/api/v1/files", fileBody(t, "broken.png", brokenPNG))
			id = str(alice.want(202, "POST", "/api/v1/tasks/process-image", map[string]any{
				"file_id": str(broken["id"]), "operations": []map[string]any{{"op": "grayscale"}}})["task_id"])
			st = awaitEnd(alice, id)
			if str(st["state"]) != "dead" || !strings.Contains(strings.ToLower(str(st["error"])), "png") || st["result"] != nil {
				t.Errorf("status = %v; want dead with the image's problem, no result", st)
			}
			if got := stepStates(st); !slices.Equal(got, []string{"failed", "skipped", "skipped"}) {
				t.Errorf("step states = %v; want the resize failed, the rest skipped", got)
			}
			wi, err := f.inspect.Workflow(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if info, err := f.inspect.Job(t.Context(), wi.Steps[0].JobID); err != nil || info.State != jobs.StateDead || info.Attempts != 1 {
				t.Errorf("resize job = %+v, %v; want dead after 1 attempt", info, err)
			}
			time.Sleep(200 * time.Millisecond)
			if n := len(sink.messages()); n != 1 {
				t.Errorf("%d mails sent; want still 1 (no notice of a failed chain)", n)
			}
		})
	}
}

// mailText returns the plain text of a message as the sink received it.
func mailText(t *testing.T, data string) string {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("message: %v", err)
	}
	var text func(h map[string][]string, r io.Reader) string
	text = func(h map[string][]string, r io.Reader) string {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, _ := mime.ParseMediaType(get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return ""
				}
				if s := text(p.Header, p); s != "" {
					return s
				}
			}
		}
		if mt != "" && mt != "text/plain" {
			return ""
		}
		if strings.EqualFold(get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	return text(m.Header, m.Body)
}
