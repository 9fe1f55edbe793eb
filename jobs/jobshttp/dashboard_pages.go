package jobshttp

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/jobs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy keeps the pages to their own scripts, styles and
// API: nothing is loaded from another host, nothing inline runs.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// pages holds the parsed templates and the assets with their version.
type pages struct {
	tmpl    map[string]*template.Template
	static  fs.FS
	version string // hash of the assets, in their URLs so caches refresh on change
}

var pageNames = []string{"overview", "queue", "job", "workflow", "workflows", "schedules", "workers", "error"}

func newPages() (*pages, error) {
	st, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	err = fs.WalkDir(st, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(st, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	p := &pages{tmpl: map[string]*template.Template{}, static: st, version: hex.EncodeToString(h.Sum(nil))[:12]}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("jobshttp: parse %s page: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

var funcs = template.FuncMap{
	"num":      formatNum,
	"duration": formatMs,
	"time":     formatTime,
	"json":     prettyJSON,
	"states":   func() []jobs.State { return allStates },
	"count":    countOf,
	"add1":     func(n int) int { return n + 1 },
	"pct": func(cur, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return min(100, cur*100/total)
	},
	"queueURL":    func(prefix, queue string) string { return prefix + "/queues/" + url.PathEscape(queue) },
	"jobURL":      func(prefix, id string) string { return prefix + "/jobs/" + url.PathEscape(id) },
	"apiJob":      func(prefix, id string) string { return prefix + "/api/jobs/" + url.PathEscape(id) },
	"apiQueue":    func(prefix, queue string) string { return prefix + "/api/queues/" + url.PathEscape(queue) },
	"workflowURL": func(prefix, id string) string { return prefix + "/workflows/" + url.PathEscape(id) },
	"apiWorkflow": func(prefix, id string) string { return prefix + "/api/workflows/" + url.PathEscape(id) },
	"sortedQueues": func(m map[string]int) []string {
		out := make([]string, 0, len(m))
		for q := range m {
			out = append(out, q)
		}
		sortStrings(out)
		return out
	},
	"retryable": func(s jobs.State) bool {
		return s == jobs.StateDead || s == jobs.StateRetrying || s == jobs.StateScheduled
	},
	"cancellable": func(s jobs.State) bool {
		return s == jobs.StatePending || s == jobs.StateScheduled || s == jobs.StateRetrying || s == jobs.StateActive
	},
	"deletable": func(s jobs.State) bool { return s != jobs.StateActive },
	// finished: the job will not run again unless retried, so what it
	// reported is history, not a live reading.
	"finished": func(s jobs.State) bool {
		return s == jobs.StateSucceeded || s == jobs.StateDead || s == jobs.StateCancelled
	},
}

var allStates = []jobs.State{
	jobs.StatePending, jobs.StateScheduled, jobs.StateActive, jobs.StateRetrying,
	jobs.StateDead, jobs.StateSucceeded, jobs.StateCancelled,
}

func countOf(c StateCounts, s jobs.State) int64 {
	switch s {
	case jobs.StatePending:
		return c.Pending
	case jobs.StateScheduled:
		return c.Scheduled
	case jobs.StateActive:
		return c.Active
	case jobs.StateRetrying:
		return c.Retrying
	case jobs.StateDead:
		return c.Dead
	case jobs.StateSucceeded:
		return c.Succeeded
	case jobs.StateCancelled:
		return c.Cancelled
	}
	return 0
}

func formatNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatMs writes a duration in milliseconds the way an operator reads it:
// "0", "850ms", "12s", "3m 4s", "2h 5m", "3d 2h".
func formatMs(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d <= 0:
		return "0"
	case d < time.Second:
		return fmt.Sprintf("%dms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// formatTime writes a <time> element: UTC text the script turns into the
// reader's local time.
func formatTime(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339Nano) + `">` + t.Format("2006-01-02 15:04:05") + ` UTC</time>`)
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// page is what every template receives.
type page struct {
	Title     string
	Heading   string
	Prefix    string
	Static    string // prefix of the assets
	Version   string // the assets' version, in their URLs
	ReadOnly  bool
	CSRF      string
	Account   string // the signed-in account, "" when unknown
	SignOut   string // where the sign-out button posts
	RefreshMs int64
	Nav       string
	Data      any
}

func (d *Dashboard) mountPages(g *echo.Group) {
	g.GET("/queues/:queue", d.queuePage)
	g.GET("/jobs", d.searchJob)
	g.GET("/jobs/:id", d.jobPage)
	g.GET("/workflows", d.searchWorkflow)
	g.GET("/workflows/:id", d.workflowPage)
	g.GET("/schedules", d.schedulesPage)
	g.GET("/workers", d.workersPage)
	g.GET("/static/:file", d.asset)
}

func (d *Dashboard) page(c echo.Context, nav, heading string, data any) page {
	pg := page{
		Title: d.cfg.Title, Heading: heading, Prefix: d.prefixOf(c), ReadOnly: d.cfg.ReadOnly,
		RefreshMs: d.cfg.RefreshInterval.Milliseconds(), Nav: nav, Data: data,
	}
	pg.Static, pg.Version = pg.Prefix+"/static/", d.pages.version
	if d.cfg.CSRFToken != nil {
		pg.CSRF = d.cfg.CSRFToken(c)
	}
	if d.cfg.Account != nil {
		if label, out := d.cfg.Account(c); label != "" {
			pg.Account, pg.SignOut = label, out
		}
	}
	return pg
}

// prefixOf returns the dashboard's prefix from the route the request
// matched.
func (d *Dashboard) prefixOf(c echo.Context) string {
	p := c.Path()
	for _, suffix := range []string{"/queues/:queue", "/jobs/:id", "/jobs", "/workflows/:id", "/workflows", "/schedules", "/workers", "/"} {
		if strings.HasSuffix(p, suffix) {
			return strings.TrimSuffix(p, suffix)
		}
	}
	return strings.TrimSuffix(p, "/")
}

func (d *Dashboard) render(c echo.Context, status int, name string, pg page) error {
	var b bytes.Buffer
	if err := d.pages.tmpl[name].Execute(&b, pg); err != nil {
		return fmt.Errorf("jobshttp: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	return c.HTMLBlob(status, b.Bytes())
}

// errorPage renders err as a page with its status: a friendly 404 for an
// unknown job or queue, the envelope's message for client errors, a plain
// message for server errors (the server's error handler logs those when
// the error is returned; a page swallows it, so it logs here).
func (d *Dashboard) errorPage(c echo.Context, err error) error {
	status, msg := http.StatusInternalServerError, "Something went wrong on the server."
	var hs apierror.HTTPStatuser
	var he *echo.HTTPError
	switch {
	case errors.As(err, &hs):
		status = hs.HTTPStatus()
		if status < 500 || status == http.StatusServiceUnavailable {
			msg = hs.(error).Error()
			if pm, ok := hs.(apierror.PublicMessager); ok {
				msg = pm.PublicMessage()
			}
		}
	case errors.As(err, &he):
		status = he.Code
		if status < 500 {
			msg = fmt.Sprint(he.Message)
		}
	}
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		d.cfg.Logger.LogAttrs(c.Request().Context(), slog.LevelError, "jobs dashboard page failed",
			slog.String("path", c.Request().URL.Path), slog.Int("status", status), slog.String("error", err.Error()))
	}
	heading := http.StatusText(status)
	switch {
	case errors.Is(err, ErrWorkflowNotFound):
		heading, msg = "Workflow not found", "No workflow has this id, or it finished longer ago than its retention."
	case errors.Is(err, jobs.ErrNotFound):
		heading, msg = "Job not found", "No job has this id, or it finished longer ago than its retention."
	case errors.Is(err, ErrQueueNotFound):
		heading, msg = "Queue not found", "No job was ever enqueued to this queue."
	}
	return d.render(c, status, "error", d.page(c, "", heading, struct {
		Status  int
		Message string
	}{status, msg}))
}

func (d *Dashboard) overviewPage(c echo.Context) error {
	ctx := c.Request().Context()
	qs, err := d.queues(ctx, d.cfg.StatsMinutes)
	if err != nil {
		return d.errorPage(c, err)
	}
	var total StateCounts
	for _, q := range qs {
		for _, s := range allStates {
			addCount(&total, s, countOf(q.Counts, s))
		}
	}
	return d.render(c, http.StatusOK, "overview", d.page(c, "overview", "Queues", struct {
		Queues  []Queue
		Total   StateCounts
		Initial QueueList // drawn by the script, then polled
		Minutes int
	}{qs, total, QueueList{Queues: qs}, d.cfg.StatsMinutes}))
}

func addCount(c *StateCounts, s jobs.State, n int64) {
	switch s {
	case jobs.StatePending:
		c.Pending += n
	case jobs.StateScheduled:
		c.Scheduled += n
	case jobs.StateActive:
		c.Active += n
	case jobs.StateRetrying:
		c.Retrying += n
	case jobs.StateDead:
		c.Dead += n
	case jobs.StateSucceeded:
		c.Succeeded += n
	case jobs.StateCancelled:
		c.Cancelled += n
	}
}

// queueQuery is what a queue page reads from its URL.
type queueQuery struct {
	State  jobs.State
	Kind   string
	Order  jobs.Order // "" for the state's default
	Cursor string
	// Back holds the cursors of the pages before this one, oldest first
	// ("" is the first page), at most maxBack.
	Back []string
}

const (
	maxBack      = 20
	maxCursorLen = 1024
	maxKindLen   = 200
	pageSize     = 50
)

var errBadQuery = apierror.New(http.StatusBadRequest, "invalid query").WithType("invalid_parameter").WithOrigin("jobshttp")

// parseQueueQuery reads a queue page's query: state (default pending),
// kind, order, cursor and the back stack. It refuses what the API would
// refuse, with a message naming the parameter.
func parseQueueQuery(q url.Values) (queueQuery, error) {
	out := queueQuery{State: jobs.StatePending}
	if s := q.Get("state"); s != "" {
		out.State = jobs.State(s)
		if !validState(out.State) {
			return out, errBadQuery.WithMessage(`query parameter "state" must be one of pending, scheduled, active, retrying, succeeded, dead, cancelled`)
		}
	}
	switch o := jobs.Order(q.Get("order")); o {
	case "", jobs.OldestFirst, jobs.NewestFirst:
		out.Order = o
	default:
		return out, errBadQuery.WithMessage(`query parameter "order" must be oldest or newest`)
	}
	out.Kind = q.Get("kind")
	if len(out.Kind) > maxKindLen {
		return out, errBadQuery.WithMessage(`query parameter "kind" is too long`)
	}
	out.Cursor = q.Get("cursor")
	if !validCursor(out.Cursor) {
		return out, errBadQuery.WithMessage(`query parameter "cursor" is not a cursor of this list`)
	}
	back := q["back"]
	if len(back) > maxBack {
		back = back[len(back)-maxBack:]
	}
	for _, b := range back {
		if !validCursor(b) {
			return out, errBadQuery.WithMessage(`query parameter "back" is not a cursor of this list`)
		}
	}
	out.Back = back
	return out, nil
}

func validState(s jobs.State) bool {
	for _, st := range allStates {
		if s == st {
			return true
		}
	}
	return false
}

// validCursor accepts what a cursor can be: printable ASCII, bounded.
func validCursor(s string) bool {
	if len(s) > maxCursorLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// url returns the queue page's URL for q.
func (q queueQuery) url(base string) string {
	v := url.Values{}
	v.Set("state", string(q.State))
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if q.Order != "" {
		v.Set("order", string(q.Order))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
		for _, b := range q.Back {
			v.Add("back", b)
		}
	}
	return base + "?" + v.Encode()
}

// next is the query of the page after this one, whose cursor is cursor.
func (q queueQuery) next(cursor string) queueQuery {
	n := q
	n.Back = append(append([]string(nil), q.Back...), q.Cursor)
	if len(n.Back) > maxBack {
		n.Back = n.Back[len(n.Back)-maxBack:]
	}
	n.Cursor = cursor
	return n
}

// prev is the query of the page before this one.
func (q queueQuery) prev() queueQuery {
	p := q
	if len(q.Back) == 0 {
		p.Cursor, p.Back = "", nil
		return p
	}
	p.Cursor = q.Back[len(q.Back)-1]
	p.Back = q.Back[:len(q.Back)-1]
	return p
}

// with returns the first page of another state, kind or order.
func (q queueQuery) with(state jobs.State, kind string, order jobs.Order) queueQuery {
	return queueQuery{State: state, Kind: kind, Order: order}
}

type queueView struct {
	Queue                  *Queue
	Query                  queueQuery
	Jobs                   []Job
	Base                   string
	NextURL, PrevURL       string
	FirstURL               string
	StateURLs              map[jobs.State]string
	NewestURL, OldestURL   string
	Order                  jobs.Order // the order in effect
	KindFilterAction       string
	KindsInQueue           []string
	AnyPage, FirstPageLink bool
}

func (d *Dashboard) queuePage(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("queue")
	if un, err := url.PathUnescape(name); err == nil {
		name = un
	}
	q, err := parseQueueQuery(c.QueryParams())
	if err != nil {
		return d.errorPage(c, err)
	}
	if err := d.queueExists(ctx, name); err != nil {
		return d.errorPage(c, err)
	}
	qu, err := d.queue(ctx, name, d.cfg.StatsMinutes)
	if err != nil {
		return d.errorPage(c, err)
	}
	list, err := d.list(ctx, &listIn{Queue: name, State: string(q.State), Kind: q.Kind, Order: string(q.Order), Cursor: q.Cursor, Limit: pageSize})
	if err != nil {
		return d.errorPage(c, err)
	}
	prefix := d.prefixOf(c)
	base := prefix + "/queues/" + url.PathEscape(name)
	order := q.Order
	if order == "" {
		order = jobs.OldestFirst
		if q.State == jobs.StateSucceeded || q.State == jobs.StateDead || q.State == jobs.StateCancelled {
			order = jobs.NewestFirst
		}
	}
	v := queueView{
		Queue: qu, Query: q, Jobs: list.Jobs, Base: base, Order: order,
		StateURLs: map[jobs.State]string{},
		NewestURL: q.with(q.State, q.Kind, jobs.NewestFirst).url(base),
		OldestURL: q.with(q.State, q.Kind, jobs.OldestFirst).url(base),
		FirstURL:  q.with(q.State, q.Kind, q.Order).url(base),
	}
	for _, s := range allStates {
		v.StateURLs[s] = q.with(s, q.Kind, "").url(base)
	}
	for _, k := range qu.Kinds {
		v.KindsInQueue = append(v.KindsInQueue, k.Kind)
	}
	if list.Next != "" {
		v.NextURL = q.next(list.Next).url(base)
	}
	if q.Cursor != "" {
		v.PrevURL = q.prev().url(base)
	}
	return d.render(c, http.StatusOK, "queue", d.page(c, "queue", "Queue "+name, v))
}

// searchJob answers the job-id box: GET /jobs?id=ID goes to the job's page.
func (d *Dashboard) searchJob(c echo.Context) error {
	id := strings.TrimSpace(c.QueryParam("id"))
	if id == "" {
		return d.errorPage(c, errBadQuery.WithMessage("Paste a job id into the search box."))
	}
	return c.Redirect(http.StatusSeeOther, d.prefixOf(c)+"/jobs/"+url.PathEscape(id))
}

func (d *Dashboard) jobPage(c echo.Context) error {
	id := c.Param("id")
	if un, err := url.PathUnescape(id); err == nil {
		id = un
	}
	j, err := d.insp.Job(c.Request().Context(), id)
	if err != nil {
		return d.errorPage(c, backendError(err))
	}
	return d.render(c, http.StatusOK, "job", d.page(c, "job", "Job "+id, struct {
		Job
		Workflow string // the workflow the job is a step of, or ""
	}{d.job(j), workflowOfJob(j.ID)}))
}

func (d *Dashboard) schedulesPage(c echo.Context) error {
	s, err := d.apiSchedules(c.Request().Context(), nil)
	if err != nil {
		return d.errorPage(c, err)
	}
	return d.render(c, http.StatusOK, "schedules", d.page(c, "schedules", "Schedules", s.Schedules))
}

func (d *Dashboard) workersPage(c echo.Context) error {
	w, err := d.apiWorkers(c.Request().Context(), nil)
	if err != nil {
		return d.errorPage(c, err)
	}
	return d.render(c, http.StatusOK, "workers", d.page(c, "workers", "Workers", w.Workers))
}

// asset serves an embedded asset. Its URL carries the assets' version, so
// it may be cached for long.
func (d *Dashboard) asset(c echo.Context) error {
	name := path.Clean(c.Param("file"))
	b, err := fs.ReadFile(d.pages.static, name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "asset not found")
	}
	h := c.Response().Header()
	if c.QueryParam("v") == d.pages.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return c.Blob(http.StatusOK, ct, b)
}
