package main

// The end-to-end test builds the real binary and drives it over HTTP, once
// on the embedded defaults and once on PostgreSQL + Redis with the worker
// and the scheduler in processes of their own.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// appBinary builds the app once per test run.
func appBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gantry-app-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "app")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one running process of the app.
type proc struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit error, valid once done is closed
}

// start runs the app binary with args and env (on top of PATH and HOME).
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(appBinary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}, env...)
	p := &proc{cmd: cmd, out: &testenv.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %v output:\n%s", filepath.Base(cmd.Path), args, tail(p.out.String(), 6000))
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("exit after SIGTERM: %v", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func waitHealthy(t *testing.T, base string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/health/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("app exited: %v\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not ready within 30s: %v\n%s", err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client calls the API and decodes JSON answers.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) as(token string) *client { return &client{t: c.t, base: c.base, token: token} }

func (c *client) do(method, path string, body any, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ctype = strings.NewReader(b), "application/json"
	case *multipartBody:
		r, ctype = bytes.NewReader(b.data), b.ctype
	default:
		raw, _ := json.Marshal(b)
		r, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	if out == nil {
		out = map[string]any{"_raw": string(raw)}
	}
	return res.StatusCode, out, res.Header
}

// want asserts a status and returns the body.
func (c *client) want(status int, method, path string, body any, hdr ...string) map[string]any {
	c.t.Helper()
	got, out, _ := c.do(method, path, body, hdr...)
	if got != status {
		c.t.Fatalf("%s %s = %d %v; want %d", method, path, got, out, status)
	}
	if status >= 400 {
		e, _ := out["error"].(map[string]any)
		if e == nil || e["request_id"] == "" || int(e["code"].(float64)) != status {
			c.t.Fatalf("%s %s: %d body %v is not the error envelope", method, path, status, out)
		}
	}
	return out
}

type multipartBody struct {
	data  []byte
	ctype string
}

func fileBody(t *testing.T, name string, content []byte) *multipartBody {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = w.Close()
	return &multipartBody{data: buf.Bytes(), ctype: w.FormDataContentType()}
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func str(v any) string { s, _ := v.(string); return s }

func items(out map[string]any) []map[string]any {
	list, _ := out["items"].([]any)
	res := make([]map[string]any, len(list))
	for i, v := range list {
		res[i], _ = v.(map[string]any)
	}
	return res
}

// awaitTask polls a task until it is finished and returns its status.
func (c *client) awaitTask(id string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := c.want(200, "GET", "/api/v1/tasks/"+id, nil)
		switch str(st["state"]) {
		case "succeeded":
			return st
		case "dead", "cancelled":
			c.t.Fatalf("task %s ended %v", id, st)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("task %s not done within 30s: %v", id, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func baseEnv(addr, dataDir string) []string {
	return []string{
		"HTTP_ADDR=" + addr,
		"DATA_DIR=" + dataDir,
		"SECRET_KEY=" + strings.Repeat("e2e-secret-", 4),
		"PASSWORD_HASH_COST=4",
		"MAX_FILE_SIZE=200000",
		"FIRST_SUPERUSER=root",
		"FIRST_SUPERUSER_PASSWORD=root-password-1",
		"AUTH_RATE_LIMIT_REQUESTS=1000",
		"RATE_LIMIT_REQUESTS=100000",
		"LOG_LEVEL=warn",
	}
}

func TestEndToEndEmbedded(t *testing.T) {
	t.Parallel()
	addr, data := freeAddr(t), t.TempDir()
	p := start(t, baseEnv(addr, data))
	base := "http://" + addr
	waitHealthy(t, base, p)
	scenario(t, base, func(t *testing.T) int {
		ents, _ := os.ReadDir(filepath.Join(data, "outbox"))
		return len(ents)
	})
	drain(t, base, p)
}

func TestEndToEndPostgresRedis(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	_, prefix := testenv.Redis(t)
	smtp := newSMTPSink(t)
	addr, data := freeAddr(t), t.TempDir()
	env := append(baseEnv(addr, data),
		"DATABASE_URL="+dsn,
		"REDIS_URL="+testenv.RedisURL(),
		"REDIS_KEY_PREFIX="+prefix,
		"EMAIL_SMTP_HOST=127.0.0.1",
		"EMAIL_SMTP_PORT="+smtp.port,
		"EMAIL_SMTP_FROM=app@example.com",
	)
	migrate := start(t, env, "migrate", "up")
	select {
	case <-migrate.done:
		if migrate.err != nil {
			t.Fatalf("migrate up: %v\n%s", migrate.err, migrate.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrate up did not finish")
	}
	api := start(t, env, "serve")
	worker := start(t, env, "worker")
	sched := start(t, env, "scheduler")
	base := "http://" + addr
	waitHealthy(t, base, api)
	scenario(t, base, smtp.count)

	// A long job in flight when the worker gets SIGTERM is handed back and
	// finishes on the next worker.
	c := login(t, base, "root", "root-password-1")
	out := c.want(202, "POST", "/api/v1/tasks/reports/users", map[string]string{"start_date": "2025-12-01", "end_date": "2026-11-30"})
	id := str(out["task_id"])
	time.Sleep(20 * time.Millisecond)
	worker.stop(t)
	worker2 := start(t, env, "worker")
	st := c.awaitTask(id)
	if str(st["state"]) != "succeeded" {
		t.Errorf("report after worker restart = %v", st)
	}
	drain(t, base, api)
	worker2.stop(t)
	sched.stop(t)
}

func login(t *testing.T, base, user, password string) *client {
	t.Helper()
	c := &client{t: t, base: base}
	out := c.want(200, "POST", "/api/v1/auth/login", map[string]string{"username": user, "password": password})
	if str(out["token_type"]) != "bearer" || str(out["access_token"]) == "" || out["expires_in"].(float64) <= 0 {
		t.Fatalf("login = %v", out)
	}
	return c.as(str(out["access_token"]))
}

// scenario is what both run modes must do alike.
func scenario(t *testing.T, base string, emails func(*testing.T) int) {
	anon := &client{t: t, base: base}

	// Health, docs, the envelope.
	anon.want(200, "GET", "/health", nil)
	anon.want(404, "GET", "/nope", nil)
	if code, _, _ := anon.do("GET", "/docs", nil); code != 200 {
		t.Errorf("GET /docs = %d; want 200 outside production", code)
	}
	if code, doc, _ := anon.do("GET", "/api/v1/openapi.json", nil); code != 200 || doc["openapi"] != "3.1.0" {
		t.Errorf("GET /api/v1/openapi.json = %d %v", code, doc["openapi"])
	}

	// Register and log in.
	for _, u := range []string{"alice", "bob"} {
		out := anon.want(201, "POST", "/api/v1/auth/register", map[string]string{
			"username": u, "email": u + "@example.com", "password": u + "-password", "full_name": strings.ToUpper(u)})
		if _, leak := out["hashed_password"]; leak || str(out["username"]) != u {
			t.Fatalf("register = %v", out)
		}
	}
	anon.want(409, "POST", "/api/v1/auth/register", map[string]string{"username": "ALICE", "email": "x@example.com", "password": "whatever-1"})
	anon.want(400, "POST", "/api/v1/auth/register", `{"username":"mallory","email":"m@example.com","password":"mallory-pw","is_superuser":true}`)
	anon.want(422, "POST", "/api/v1/auth/register", map[string]string{"username": "x", "email": "nope", "password": "short"})
	// Each registration sends one welcome mail, through the outbox and the
	// worker (which may still be starting); the refused ones send none.
	for deadline := time.Now().Add(30 * time.Second); emails(t) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := emails(t); got != 2 {
		t.Errorf("%d welcome emails after 2 registrations; want 2", got)
	}
	anon.want(401, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "wrong-password"})
	anon.want(401, "POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "wrong-password"})

	// Refresh rotation: the old refresh token is single-use, and reusing it
	// kills its whole family.
	pair := anon.want(200, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "alice-password"})
	rotated := anon.want(200, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": str(pair["refresh_token"])})
	anon.want(401, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": str(pair["refresh_token"])})
	anon.want(401, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": str(rotated["refresh_token"])})
	anon.as(str(rotated["access_token"])).want(401, "GET", "/api/v1/users/me", nil)
	anon.want(401, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": str(pair["access_token"])})

	alice, bob, root := login(t, base, "alice", "alice-password"), login(t, base, "bob", "bob-password"), login(t, base, "root", "root-password-1")
	me := alice.want(200, "GET", "/api/v1/users/me", nil)
	aliceID := int64(me["id"].(float64))
	anon.want(401, "GET", "/api/v1/users/me", nil)
	alice.want(400, "PATCH", "/api/v1/users/me", `{"bio":"hi","is_superuser":true}`)
	if out := alice.want(200, "PATCH", "/api/v1/users/me", `{"bio":"gopher"}`); str(out["bio"]) != "gopher" || out["is_superuser"] != false {
		t.Errorf("PATCH /users/me = %v", out)
	}
	bob.want(403, "GET", "/api/v1/users", nil)
	if out := root.want(200, "GET", "/api/v1/users?role=user&sort=username&include_total=true", nil); len(items(out)) != 2 || str(items(out)[0]["username"]) != "alice" {
		t.Errorf("admin GET /users = %v", out)
	}

	// Posts: create, filters, both pagination styles, visibility.
	titles := []string{"Go generics", "Go channels", "Draft notes"}
	var ids []int64
	for i, title := range titles {
		out := alice.want(201, "POST", "/api/v1/posts", map[string]any{"title": title, "content": "body", "published": i < 2})
		ids = append(ids, int64(out["id"].(float64)))
	}
	bobPost := bob.want(201, "POST", "/api/v1/posts", map[string]any{"title": "Bob's post", "published": true})
	bob.want(400, "POST", "/api/v1/posts", `{"title":"x","author_id":1}`)
	anon.want(401, "POST", "/api/v1/posts", map[string]any{"title": "anon"})

	q := func(c *client, query string) []map[string]any {
		return items(c.want(200, "GET", "/api/v1/posts?"+query, nil))
	}
	self := fmt.Sprintf("author_id=%d", aliceID)
	if n := len(q(alice, self)); n != 3 {
		t.Errorf("alice sees %d of her posts; want 3 (drafts included)", n)
	}
	if n := len(q(bob, self)); n != 2 {
		t.Errorf("bob sees %d of alice's posts; want 2 published", n)
	}
	if got := q(bob, url.Values{"title[contains]": {"GO"}, "sort": {"title"}}.Encode()); len(got) != 2 || str(got[0]["title"]) != "Go channels" {
		t.Errorf("title contains + sort = %v", got)
	}
	if got := q(bob, "published=true&sort=-created_at&limit=1&offset=1&include_total=true"); len(got) != 1 {
		t.Errorf("offset page = %v", got)
	}
	since := url.Values{"created_at[gte]": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}.Encode()
	if n := len(q(bob, since)); n != 3 {
		t.Errorf("created_at[gte] = %d posts; want 3 visible to bob", n)
	}
	alice.want(400, "GET", "/api/v1/posts?sort=hashed_password", nil)
	alice.want(400, "GET", "/api/v1/posts?is_superuser=true", nil)
	alice.want(400, "GET", "/api/v1/posts?limit=abc", nil)

	// v2: cursor pages cover every visible post once.
	seen := map[float64]bool{}
	cursor := ""
	for page := 0; ; page++ {
		path := "/api/v2/posts?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		out := bob.want(200, "GET", path, nil)
		for _, it := range items(out) {
			if seen[it["id"].(float64)] {
				t.Errorf("v2 page %d repeats post %v", page, it["id"])
			}
			seen[it["id"].(float64)] = true
		}
		if cursor = str(out["next_cursor"]); cursor == "" {
			break
		}
		if page > 5 {
			t.Fatal("v2 cursor pages do not end")
		}
	}
	if len(seen) != 3 {
		t.Errorf("v2 pages hold %d posts; want 3", len(seen))
	}
	bob.want(400, "GET", "/api/v2/posts?cursor=tampered", nil)
	bob.want(400, "GET", "/api/v2/posts?offset=2", nil)

	draft := fmt.Sprintf("/api/v1/posts/%d", ids[2])
	bob.want(404, "GET", draft, nil)
	bob.want(404, "PATCH", draft, map[string]any{"title": "mine"})
	bob.want(403, "PATCH", fmt.Sprintf("/api/v1/posts/%d", ids[0]), map[string]any{"title": "mine"})
	bob.want(404, "GET", "/api/v1/posts/999999", nil)
	edited := alice.want(200, "PATCH", draft, map[string]any{"published": true}, "If-Match", "1")
	if edited["version"].(float64) != 2 {
		t.Errorf("version after update = %v", edited["version"])
	}
	alice.want(409, "PATCH", draft, map[string]any{"title": "stale"}, "If-Match", "1")
	alice.want(204, "DELETE", draft, nil)
	alice.want(404, "GET", draft, nil)
	alice.want(403, "POST", draft+"/restore", nil)
	root.want(200, "POST", draft+"/restore", nil)
	alice.want(200, "GET", draft, nil)
	_ = bobPost

	// Files: content sniffing, size limit, ownership.
	img := pngImage(t, 64, 48)
	file := alice.want(201, "POST", "/api/v1/files", fileBody(t, "photo.png", img))
	fileID := str(file["id"])
	if str(file["content_type"]) != "image/png" || file["size"].(float64) != float64(len(img)) {
		t.Errorf("upload = %v", file)
	}
	alice.want(415, "POST", "/api/v1/files", fileBody(t, "shell.png", []byte("<?php system($_GET['c']); ?>")))
	alice.want(413, "POST", "/api/v1/files", fileBody(t, "big.png", append(append([]byte{}, img...), make([]byte, 300000)...)))
	bob.want(404, "GET", "/api/v1/files/"+fileID, nil)
	if code, out, hdr := alice.do("GET", "/api/v1/files/"+fileID, nil); code != 200 || out["_raw"] != string(img) || hdr.Get("Content-Type") != "image/png" {
		t.Errorf("download = %d %s", code, hdr.Get("Content-Type"))
	}

	// Tasks, each through to success.
	before := emails(t)
	task := alice.want(202, "POST", "/api/v1/tasks/send-email", map[string]string{"to_email": "carol@example.com", "subject": "Hello", "content": "Hi Carol"})
	if str(task["status"]) != "queued" {
		t.Errorf("send-email = %v", task)
	}
	bob.want(404, "GET", "/api/v1/tasks/"+str(task["task_id"]), nil)
	if st := alice.awaitTask(str(task["task_id"])); str(st["result"].(map[string]any)["status"]) != "sent" {
		t.Errorf("send-email task = %v", st)
	}
	// The bulk e-mail is a chord: one send per address (D@ is d@ again),
	// then a summary, the task's result.
	bulk := alice.awaitTask(str(alice.want(202, "POST", "/api/v1/tasks/send-bulk-email", map[string]any{
		"email_list": []string{"d@example.com", "e@example.com", "D@example.com", "f@example.com"}, "subject": "News", "content": "Hello all"})["task_id"]))
	summary, _ := bulk["result"].(map[string]any)
	addresses, _ := summary["addresses"].([]any)
	if summary["sent"] != 3.0 || summary["failed"] != 0.0 || len(addresses) != 4 || addresses[2].(map[string]any)["duplicate"] != true {
		t.Fatalf("bulk result = %v", bulk)
	}
	for _, a := range addresses {
		if id := str(a.(map[string]any)["task_id"]); id != "" {
			alice.awaitTask(id)
		}
	}
	bob.want(404, "GET", "/api/v1/tasks/"+str(bulk["task_id"]), nil)
	if got := emails(t) - before; got != 4 {
		t.Errorf("%d emails arrived; want 4", got)
	}
	alice.want(422, "POST", "/api/v1/tasks/send-bulk-email", map[string]any{"email_list": []string{"not-an-email"}, "subject": "x", "content": "y"})

	// Image processing is a chain: resize, thumbnail, a mail to the owner.
	before = emails(t)
	imgTask := alice.awaitTask(str(alice.want(202, "POST", "/api/v1/tasks/process-image", map[string]any{
		"file_id": fileID, "operations": []map[string]any{{"op": "resize", "width": 32}, {"op": "grayscale"}}})["task_id"]))
	prog, _ := imgTask["progress"].(map[string]any)
	if prog == nil || prog["current"] != prog["total"] || prog["total"].(float64) != 3 {
		t.Errorf("image task progress = %v; want 3 of 3 steps", imgTask["progress"])
	}
	res := imgTask["result"].(map[string]any)
	if code, out, _ := alice.do("GET", str(res["url"]), nil); code != 200 {
		t.Errorf("GET processed image = %d", code)
	} else if cfg, _, err := image.DecodeConfig(strings.NewReader(str(out["_raw"]))); err != nil || cfg.Width != 32 {
		t.Errorf("processed image = %+v, %v; want width 32", cfg, err)
	}
	thumb, _ := res["thumbnail"].(map[string]any)
	if code, _, _ := alice.do("GET", str(thumb["url"]), nil); code != 200 || res["notified"] != true {
		t.Errorf("thumbnail %v: GET = %d; notified %v", thumb, code, res["notified"])
	}
	if got := emails(t) - before; got != 1 {
		t.Errorf("%d emails arrived for the image; want 1, to its owner", got)
	}
	bob.want(404, "POST", "/api/v1/tasks/process-image", map[string]any{"file_id": fileID, "operations": []map[string]any{{"op": "grayscale"}}})
	alice.want(422, "POST", "/api/v1/tasks/process-image", map[string]any{"file_id": fileID, "operations": []map[string]any{{"op": "explode"}}})

	rep := alice.awaitTask(str(alice.want(202, "POST", "/api/v1/tasks/reports/users", map[string]string{
		"start_date": time.Now().UTC().AddDate(0, 0, -7).Format(time.DateOnly), "end_date": time.Now().UTC().Format(time.DateOnly)})["task_id"]))
	rres := rep["result"].(map[string]any)
	if rres["record_count"].(float64) < 7 { // 3 users and 4 posts at least
		t.Errorf("report result = %v", rres)
	}
	if code, out, _ := alice.do("GET", str(rres["url"]), nil); code != 200 || !strings.HasPrefix(str(out["_raw"]), "PK") {
		t.Errorf("GET report = %d, not an XLSX", code)
	}
	alice.want(422, "POST", "/api/v1/tasks/reports/users", map[string]string{"start_date": "2026-02-01", "end_date": "2026-01-01"})

	// A password change revokes older tokens and hands back a working pair.
	alice.want(403, "PUT", "/api/v1/users/me/password", map[string]string{"current_password": "wrong-password", "new_password": "alice-password-2"})
	np := alice.want(200, "PUT", "/api/v1/users/me/password", map[string]string{"current_password": "alice-password", "new_password": "alice-password-2"})
	alice.want(401, "GET", "/api/v1/users/me", nil)
	alice = alice.as(str(np["access_token"]))
	alice.want(200, "GET", "/api/v1/users/me", nil)
	anon.want(401, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "alice-password"})
	login(t, base, "alice", "alice-password-2")

	// Logout revokes the token at once; logout-all every token.
	alice.want(204, "POST", "/api/v1/auth/logout", nil)
	alice.want(401, "GET", "/api/v1/users/me", nil)
	b2 := login(t, base, "bob", "bob-password")
	b2.want(204, "POST", "/api/v1/auth/logout-all", nil)
	bob.want(401, "GET", "/api/v1/users/me", nil)
	b2.want(401, "GET", "/api/v1/users/me", nil)
}

// drain sends SIGTERM while requests are in flight: every request that got
// in is answered, and the process exits cleanly.
func drain(t *testing.T, base string, p *proc) {
	t.Helper()
	c := login(t, base, "root", "root-password-1")
	var ok, refused, bad atomic.Int32
	var wg sync.WaitGroup
	stopAt := time.Now().Add(1500 * time.Millisecond)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				req, _ := http.NewRequest("GET", base+"/api/v1/posts?include_total=true", nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					refused.Add(1) // after the listener closed: never got in
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	p.stop(t)
	wg.Wait()
	if bad.Load() != 0 || ok.Load() == 0 {
		t.Errorf("during the drain: %d answered 200, %d answered otherwise, %d refused", ok.Load(), bad.Load(), refused.Load())
	}
}

// TestStartupFailures: a dependency that is not there stops the app at once
// with a message naming it (and no secret), never a half-started server.
func TestStartupFailures(t *testing.T) {
	t.Parallel()
	closed := freeAddr(t) // nothing listens here
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"redis down", []string{"REDIS_URL=redis://:s3cret-pw@" + closed + "/0"}, "redis"},
		{"database down", []string{"DATABASE_URL=postgres://app:s3cret-pw@" + closed + "/app?sslmode=disable&connect_timeout=2"}, "database"},
		{"bad setting", []string{"RATE_LIMIT_WINDOW=abc"}, "RATE_LIMIT_WINDOW"},
		{"unknown command", []string{}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"serve"}
			if tt.name == "unknown command" {
				args = []string{"frobnicate"}
			}
			p := start(t, append(baseEnv(freeAddr(t), t.TempDir()), tt.env...), args...)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				t.Fatal("app still running with a missing dependency")
			}
			out := p.out.String()
			if p.err == nil || !strings.Contains(out, tt.want) || strings.Contains(out, "s3cret-pw") {
				t.Errorf("exit %v, output:\n%s\nwant a failure naming %q without the password", p.err, tail(out, 2000), tt.want)
			}
		})
	}
}
