package main

// The handlers' own tests run the real routes on in-memory fakes — the
// stores of crudtest, the tokens of authtest, the job client of jobstest —
// which is how an app built on Gantry tests its code without PostgreSQL or
// Redis. Workflows (bulk e-mail, image processing) go to a real jobs client
// on the memory backend, with no worker: jobstest records jobs only. The
// end-to-end tests (e2e_test.go) run the real binary.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/examples/app/internal/storage"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobstest"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server/servertest"
)

// fakeApp is the app on fakes: no database, no Redis, no network.
type fakeApp struct {
	*app
	enqueued *jobstest.Client
	outbox   string
	base     string
}

func memStore[T any](t *testing.T, cfg crud.Config, unique ...[]string) *crudtest.MemStore[T] {
	t.Helper()
	s, err := crudtest.NewMemStore[T](crudtest.MemConfig{Config: cfg, Unique: unique})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newFakeApp builds the app on fakes; extra settings override the test's.
func newFakeApp(t *testing.T, extra ...map[string]string) *fakeApp {
	t.Helper()
	cfg := new(settings)
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "SECRET_KEY": strings.Repeat("k", 32), "PASSWORD_HASH_COST": "4", "LOG_LEVEL": "error"}
	for _, e := range extra {
		maps.Copy(env, e)
	}
	if err := config.Load(cfg, config.WithDotEnv(""), config.WithEnv(env), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry(), zone: nil}
	a.users = memStore[User](t, crud.Config{Table: "users", VersionColumn: "-"}, []string{"username"}, []string{"email"})
	a.posts = memStore[Post](t, crud.Config{Table: "posts"})
	a.files = memStore[File](t, crud.Config{Table: "files", UpdatedAtColumn: "-", DeletedAtColumn: "-", VersionColumn: "-"})
	var err error
	if a.hasher, err = auth.NewHasher(auth.HasherConfig{BcryptCost: 4}); err != nil {
		t.Fatal(err)
	}
	a.tokens = authtest.NewTokens(t, auth.TokensConfig{Users: auth.UserLoaderFunc(a.loadUser)})
	if a.logins, err = auth.NewLoginLimiter(auth.LoginLimiterConfig{}); err != nil {
		t.Fatal(err)
	}
	a.limits = middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	fake := jobstest.NewClient()
	a.jobs = fake
	a.backend = jobs.NewMemoryBackend()
	a.inspect = jobs.NewInspector(a.backend)
	if a.client, err = jobs.NewClient(a.backend, jobs.ClientConfig{Routes: routes}); err != nil {
		t.Fatal(err)
	}
	a.flows = a.client
	if a.storage, err = storage.NewDir(storage.DirConfig{Dir: filepath.Join(dir, "files"), MaxSize: cfg.MaxFileSize}); err != nil {
		t.Fatal(err)
	}
	a.upload = openapi.UploadPolicy{MaxSize: cfg.MaxFileSize, Extensions: cfg.AllowedExtensions}
	outbox := filepath.Join(dir, "outbox")
	if a.mailer, err = mail.NewOutbox(mail.OutboxConfig{Dir: outbox, From: "app@example.com", Logger: log}); err != nil {
		t.Fatal(err)
	}
	if a.images, err = imageops.New(imageops.Config{}); err != nil {
		t.Fatal(err)
	}
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeApp{app: a, enqueued: fake, outbox: outbox, base: servertest.Start(t, srv)}
}

// user registers a user straight in the store and returns a token for it.
func (f *fakeApp) user(t *testing.T, name string, admin bool) (User, string) {
	t.Helper()
	hash, _ := f.hasher.Hash(name + "-password")
	u := User{Username: name, Email: name + "@example.com", HashedPassword: hash, Role: RoleUser, Active: true, Superuser: admin}
	if err := f.users.Create(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	c := authtest.Claims(f.tokens, u.subject(), userScopes...)
	c.Roles = u.roles()
	return u, authtest.Mint(t, f.tokens, c)
}

func (f *fakeApp) call(t *testing.T, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func TestTaskEndpointsEnqueue(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t)
	alice, token := f.user(t, "alice", false)
	photo, err := f.storeFile(t.Context(), alice.ID, "photo.png", "image/png", bytes.NewReader(pngImage(t, 8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	// workflow returns the workflow a task id names, started by alice.
	workflow := func(t *testing.T, out map[string]any) *jobs.WorkflowInfo {
		t.Helper()
		wi, err := f.inspect.Workflow(t.Context(), str(out["task_id"]))
		if err != nil {
			t.Fatalf("task %v: %v", out["task_id"], err)
		}
		if wi.Owner != alice.subject() {
			t.Errorf("workflow owner %q; want %q", wi.Owner, alice.subject())
		}
		return wi
	}
	type step struct {
		kind, queue string
		state       jobs.StepState
		deps        []int
	}
	requireSteps := func(t *testing.T, wi *jobs.WorkflowInfo, want []step) {
		t.Helper()
		var got []step
		for _, s := range wi.Steps {
			got = append(got, step{s.Kind, s.Queue, s.State, s.DependsOn})
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("steps = %v; want %v", got, want)
		}
	}
	tests := []struct {
		name, path, body string
		status           int
		check            func(t *testing.T, out map[string]any)
	}{
		{"send email", "/api/v1/tasks/send-email", `{"to_email":"c@example.com","subject":"Hi","content":"Hello"}`, 202, func(t *testing.T, _ map[string]any) {
			got := jobstest.RequireEnqueued[SendEmail](t, f.enqueued, jobs.Owner(alice.subject()))
			if got != (SendEmail{To: "c@example.com", Subject: "Hi", Content: "Hello"}) {
				t.Errorf("enqueued %+v", got)
			}
		}},
		{"bad email", "/api/v1/tasks/send-email", `{"to_email":"nope","subject":"Hi","content":"Hello"}`, 422, nil},
		{"bulk: a chord of one send per address, then the summary", "/api/v1/tasks/send-bulk-email",
			`{"email_list":["a@example.com","b@example.com","A@Example.COM"],"subject":"S","content":"C"}`, 202, func(t *testing.T, out map[string]any) {
				wi := workflow(t, out)
				requireSteps(t, wi, []step{{"send_email", "email", jobs.StepReleased, nil}, {"send_email", "email", jobs.StepReleased, nil},
					{"bulk_email_summary", "email", jobs.StepWaiting, []int{0, 1}}})
				if !wi.Steps[2].Partial {
					t.Error("the summary does not run when a send failed; want Partial")
				}
				for i, to := range []string{"a@example.com", "b@example.com"} {
					info, err := f.inspect.Job(t.Context(), wi.Steps[i].JobID)
					var got SendEmail
					if err != nil || json.Unmarshal(info.Payload, &got) != nil || got != (SendEmail{To: to, Subject: "S", Content: "C"}) || info.Owner != alice.subject() || info.MaxRetry != 3 {
						t.Errorf("send %d = %+v (%v); want to %s, owned by alice, 3 retries", i, info, err, to)
					}
				}
				if n := len(f.enqueued.Jobs()); n != 0 {
					t.Errorf("the bulk task enqueued %d plain jobs; want none", n)
				}
			}},
		{"image: a chain of resize, thumbnail, notify", "/api/v1/tasks/process-image",
			`{"file_id":"` + photo.ID + `","operations":[{"op":"resize","width":4}]}`, 202, func(t *testing.T, out map[string]any) {
				wi := workflow(t, out)
				requireSteps(t, wi, []step{{"resize_image", "image", jobs.StepReleased, nil}, {"thumbnail_image", "image", jobs.StepWaiting, []int{0}},
					{"notify_image_owner", "email", jobs.StepWaiting, []int{1}}})
				info, err := f.inspect.Job(t.Context(), wi.Steps[0].JobID)
				var got ResizeImage
				if err != nil || json.Unmarshal(info.Payload, &got) != nil || got.FileID != photo.ID || got.UserID != alice.ID || len(got.Ops) != 1 || got.Ops[0].Width != 4 {
					t.Errorf("resize step = %+v (%v)", info, err)
				}
			}},
		{"report range reversed", "/api/v1/tasks/reports/users", `{"start_date":"2026-02-01","end_date":"2026-01-01"}`, 422, nil},
		{"image of a missing file", "/api/v1/tasks/process-image", `{"file_id":"nope","operations":[{"op":"grayscale"}]}`, 404, nil},
		{"image with a URL instead of a file", "/api/v1/tasks/process-image", `{"image_url":"http://169.254.169.254/","operations":[]}`, 422, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.enqueued.Reset()
			before, _ := f.inspect.Sizes(t.Context(), "image")
			status, out := f.call(t, token, "POST", tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("POST %s = %d %v; want %d", tt.path, status, out, tt.status)
			}
			if tt.check != nil {
				tt.check(t, out)
				return
			}
			if len(f.enqueued.Jobs()) != 0 {
				t.Errorf("a refused request enqueued %v", f.enqueued.Jobs())
			}
			if after, _ := f.inspect.Sizes(t.Context(), "image"); after.Pending != before.Pending {
				t.Errorf("a refused request started a workflow: image queue %d pending, %d before", after.Pending, before.Pending)
			}
		})
	}
}

func TestWorkersOnFakes(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t)
	if err := jobstest.Work(t, jobs.WorkerFunc[SendEmail](f.sendEmail), SendEmail{To: "d@example.com", Subject: "Hi", Content: "Body"}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(f.outbox)
	if len(ents) != 1 {
		t.Fatalf("outbox holds %d messages; want 1", len(ents))
	}
	msg, _ := os.ReadFile(filepath.Join(f.outbox, ents[0].Name()))
	if !strings.Contains(string(msg), "To: <d@example.com>") && !strings.Contains(string(msg), "To: d@example.com") {
		t.Errorf("message:\n%s", msg)
	}
	// A message no retry can fix fails for good at once.
	err := jobstest.Work(t, jobs.WorkerFunc[SendEmail](f.sendEmail), SendEmail{To: "x@example.com\r\nBcc: all@example.com", Subject: "Hi"})
	if !errors.Is(err, jobs.ErrSkipRetry) {
		t.Errorf("header injection: %v; want a no-retry error", err)
	}
	// The chain's later steps need the step before: run alone, they fail
	// for good.
	if err := jobstest.Work(t, jobs.WorkerFunc[ThumbnailImage](f.thumbnailImage), ThumbnailImage{UserID: 7, Width: 8, Height: 8}); !errors.Is(err, jobs.ErrSkipRetry) {
		t.Errorf("thumbnail outside the chain: %v; want a no-retry error", err)
	}
	if err := jobstest.Work[NotifyImageOwner](t, notifyWorker{f.app}, NotifyImageOwner{UserID: 7}); !errors.Is(err, jobs.ErrSkipRetry) {
		t.Errorf("notify outside the chain: %v; want a no-retry error", err)
	}
}

// TestContract drives every documented route and checks each response,
// errors included, against the OpenAPI document with an independent
// validator.
func TestContract(t *testing.T) {
	t.Parallel()
	f := newFakeApp(t)
	alice, token := f.user(t, "alice", false)
	_, admin := f.user(t, "root", true)
	post := Post{AuthorID: alice.ID, Title: "Hello", Published: true}
	if err := f.posts.Create(t.Context(), &post); err != nil {
		t.Fatal(err)
	}
	pair, err := f.tokens.IssuePair(t.Context(), alice.subject(), userScopes, alice.roles())
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	as, root := bearer(token), bearer(admin)
	p := fmt.Sprintf("/api/v1/posts/%d", post.ID)
	// Uploads: one stored beforehand for the download, then every answer.
	form := func(name string, data []byte) (string, http.Header) {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		w, _ := mw.CreateFormFile("file", name)
		w.Write(data)
		mw.Close()
		return b.String(), http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {mw.FormDataContentType()}}
	}
	img := pngImage(t, 4, 4)
	body, hdr := form("photo.png", img)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", f.base+"/api/v1/files", strings.NewReader(body))
	req.Header = hdr
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stored File
	if err := json.NewDecoder(res.Body).Decode(&stored); err != nil || res.StatusCode != 201 {
		t.Fatalf("upload: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	uploadOK, okHdr := form("again.png", img)
	uploadPHP, phpHdr := form("shell.png", []byte("<?php system($_GET['c']); ?>"))
	uploadExe, exeHdr := form("tool.exe", img)
	uploadBig, bigHdr := form("big.png", append(append([]byte{}, img...), make([]byte, f.cfg.MaxFileSize)...))
	noFile, noFileHdr := func() (string, http.Header) {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		mw.WriteField("other", "x")
		mw.Close()
		return b.String(), http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {mw.FormDataContentType()}}
	}()

	// A workflow's status, for the document's TaskStatus.
	code, queued := f.call(t, token, "POST", "/api/v1/tasks/send-bulk-email", `{"email_list":["c@example.com","d@example.com"],"subject":"S","content":"C"}`)
	if code != 202 {
		t.Fatalf("bulk e-mail = %d %v", code, queued)
	}
	doc := openapitest.Fetch(t, f.base+"/api/v1/openapi.json")
	openapitest.ValidateDocument(t, doc)
	chk := openapitest.ValidateResponses(t, doc, f.base,
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: okHdr, Body: uploadOK, Status: 201},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: phpHdr, Body: uploadPHP, Status: 415},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: exeHdr, Body: uploadExe, Status: 415},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: bigHdr, Body: uploadBig, Status: 413},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: noFileHdr, Body: noFile, Status: 422},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Header: as, Body: `{"file":"x"}`, Status: 415},
		openapitest.Call{Method: "POST", Path: "/api/v1/files", Body: uploadOK, Status: 401},
		openapitest.Call{Method: "GET", Path: "/api/v1/files/" + stored.ID, Header: as, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/files/" + stored.ID, Header: root, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/files/0123456789abcdef0123456789abcdef", Header: as, Status: 404},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/register", Body: `{"username":"bob","email":"bob@example.com","password":"bob-password"}`, Status: 201},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/register", Body: `{"username":"bob","email":"bob@example.com","password":"bob-password"}`, Status: 409},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/login", Body: `{"username":"bob","password":"bob-password"}`, Status: 200},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/login", Body: `{"username":"bob","password":"wrong"}`, Status: 401},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/refresh", Body: `{"refresh_token":"` + pair.RefreshToken + `"}`, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/users/me", Header: as, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/users/me", Status: 401},
		openapitest.Call{Method: "PATCH", Path: "/api/v1/users/me", Header: as, Body: `{"bio":"hi"}`, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/users?sort=-created_at", Header: root, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/users", Header: as, Status: 403},
		openapitest.Call{Method: "GET", Path: "/api/v1/posts?limit=5&include_total=true", Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/posts?limit=0", Status: 422},
		openapitest.Call{Method: "POST", Path: "/api/v1/posts", Header: as, Body: `{"title":"Second","published":false}`, Status: 201},
		openapitest.Call{Method: "GET", Path: p, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/posts/999", Status: 404},
		openapitest.Call{Method: "PATCH", Path: p, Header: as, Body: `{"content":"more"}`, Status: 200},
		openapitest.Call{Method: "DELETE", Path: p, Header: as, Status: 204},
		openapitest.Call{Method: "POST", Path: p + "/restore", Header: root, Status: 200},
		openapitest.Call{Method: "POST", Path: "/api/v1/tasks/send-email", Header: as, Body: `{"to_email":"c@example.com","subject":"S","content":"C"}`, Status: 202},
		openapitest.Call{Method: "POST", Path: "/api/v1/tasks/send-bulk-email", Header: as, Body: `{"email_list":["c@example.com"],"subject":"S","content":"C"}`, Status: 202},
		openapitest.Call{Method: "POST", Path: "/api/v1/tasks/process-image", Header: as, Body: `{"file_id":"missing","operations":[{"op":"grayscale"}]}`, Status: 404},
		openapitest.Call{Method: "POST", Path: "/api/v1/tasks/reports/users", Header: as, Body: `{"start_date":"2026-01-01","end_date":"2026-01-31"}`, Status: 202},
		openapitest.Call{Method: "GET", Path: "/api/v1/tasks/unknown", Header: as, Status: 404},
		openapitest.Call{Method: "GET", Path: "/api/v1/tasks/" + str(queued["task_id"]), Header: as, Status: 200},
		openapitest.Call{Method: "GET", Path: "/api/v1/tasks/unknown/events", Header: as, Status: 404},
		openapitest.Call{Method: "PUT", Path: "/api/v1/users/me/password", Header: as, Body: `{"current_password":"alice-password","new_password":"new-password-1"}`, Status: 200},
		openapitest.Call{Method: "PATCH", Path: fmt.Sprintf("/api/v1/users/%d", alice.ID), Header: root, Body: `{"role":"user"}`, Status: 200},
		openapitest.Call{Method: "DELETE", Path: fmt.Sprintf("/api/v1/users/%d", alice.ID), Header: root, Status: 204},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/logout", Header: bearer(pair.AccessToken), Status: 401},
		openapitest.Call{Method: "POST", Path: "/api/v1/auth/logout-all", Header: root, Status: 204},
	)
	chk.RequireExercised()

	v2 := openapitest.Fetch(t, f.base+"/api/v2/openapi.json")
	openapitest.ValidateDocument(t, v2)
	openapitest.ValidateResponses(t, v2, f.base,
		openapitest.Call{Path: "/api/v2/posts?limit=1", Status: 200},
		openapitest.Call{Path: "/api/v2/posts?cursor=forged", Status: 400},
	).RequireExercised()
}
