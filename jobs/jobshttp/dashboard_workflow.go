package jobshttp

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/openapi"
)

// ErrWorkflowNotFound is returned for an unknown workflow id, or one past
// its retention. HTTP 404.
var ErrWorkflowNotFound = apierror.New(http.StatusNotFound, "workflow not found").WithType("not_found").WithOrigin("jobshttp")

// ErrWorkflowFinished is returned when cancelling a workflow that has
// already ended. HTTP 409.
var ErrWorkflowFinished = apierror.New(http.StatusConflict, "the workflow has already finished").WithType("conflict").WithOrigin("jobshttp")

// Workflow is a workflow as the dashboard API shows it: its state and each
// step's. A step's result and error are shown as its job's page shows
// them (DashboardConfig.Redact applies to arguments, which steps do not
// carry).
type Workflow struct {
	ID         string             `json:"id"`
	State      jobs.WorkflowState `json:"state" doc:"running, succeeded, failed or cancelled"`
	CreatedAt  time.Time          `json:"created_at"`
	FinishedAt time.Time          `json:"finished_at,omitzero"`
	Steps      []WorkflowStep     `json:"steps"`
}

// WorkflowStep is one step of a [Workflow]: a job whose id is the
// workflow's id, a dot and Step.
type WorkflowStep struct {
	Step  int            `json:"step"`
	JobID string         `json:"job_id"`
	Kind  string         `json:"kind"`
	Queue string         `json:"queue"`
	State jobs.StepState `json:"state" doc:"waiting, released, succeeded, failed, cancelled or skipped"`
	// DependsOn lists the steps this one waits for.
	DependsOn []int `json:"depends_on"`
	// Partial: the step runs even if a step it waits for failed.
	Partial bool `json:"partial"`
	// OnFailure: the workflow's on-failure step.
	OnFailure bool            `json:"on_failure"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
}

type workflowIn struct {
	ID string `path:"id" doc:"Workflow id"`
}

func (d *Dashboard) mountWorkflowAPI(api *openapi.API) {
	openapi.Get(api, "/workflows/{id}", d.apiWorkflow, openapi.Errors(http.StatusServiceUnavailable),
		openapi.OperationID("jobsGetWorkflow"), openapi.Summary("A workflow: its state and each step's"),
		openapi.Errors(http.StatusNotFound))
	openapi.Post(api, "/workflows/{id}/cancel", d.apiCancelWorkflow, openapi.Errors(http.StatusForbidden, http.StatusServiceUnavailable),
		openapi.OperationID("jobsCancelWorkflow"),
		openapi.Summary("Cancel a running workflow: waiting steps never run, released ones are cancelled"),
		openapi.Errors(http.StatusNotFound, http.StatusConflict))
}

// workflowError maps the Inspector's errors about a workflow to what the
// client sees.
func workflowError(err error) error {
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return ErrWorkflowNotFound.Wrap(err)
	case errors.Is(err, jobs.ErrFinished):
		return ErrWorkflowFinished.Wrap(err)
	}
	return backendError(err)
}

func (d *Dashboard) workflow(ctx context.Context, id string) (*jobs.WorkflowInfo, error) {
	wi, err := d.insp.Workflow(ctx, id)
	if err != nil {
		return nil, workflowError(err)
	}
	return wi, nil
}

func workflowOf(wi *jobs.WorkflowInfo) *Workflow {
	out := &Workflow{ID: wi.ID, State: wi.State, CreatedAt: wi.CreatedAt, FinishedAt: wi.FinishedAt,
		Steps: make([]WorkflowStep, 0, len(wi.Steps))}
	for _, s := range wi.Steps {
		deps := s.DependsOn
		if deps == nil {
			deps = []int{}
		}
		out.Steps = append(out.Steps, WorkflowStep{Step: s.Step, JobID: s.JobID, Kind: s.Kind, Queue: s.Queue, State: s.State,
			DependsOn: deps, Partial: s.Partial, OnFailure: s.OnFailure, Result: s.Result, Error: s.Error})
	}
	return out
}

func (d *Dashboard) apiWorkflow(ctx context.Context, in *workflowIn) (*Workflow, error) {
	wi, err := d.workflow(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return workflowOf(wi), nil
}

func (d *Dashboard) apiCancelWorkflow(ctx context.Context, in *workflowIn) (*ActionResult, error) {
	return d.act(ctx, "cancel_workflow", in.ID, func() (int, error) {
		return one(workflowError(d.insp.CancelWorkflow(ctx, in.ID)))
	})
}

// workflowOfJob returns the id of the workflow whose step id is, or "": a
// step's id is a 20 character workflow id, a dot and the step's number.
func workflowOfJob(id string) string {
	wf, n, ok := strings.Cut(id, ".")
	if !ok || len(wf) != 20 || n == "" || len(n) > 5 {
		return ""
	}
	for i := 0; i < len(wf); i++ {
		if c := wf[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return ""
		}
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return ""
		}
	}
	return wf
}

// The drawing of a workflow: its steps in columns by level (a step's level
// is one more than the highest of the steps it waits for; the on-failure
// step on its own at the end), each a box, with an edge from each step to
// those that wait for it. A level of more than collapseOver steps shows
// its first collapsedShow and one box summing up the rest; the step list
// under the drawing pages through every step.
const (
	collapseOver   = 50
	collapsedShow  = 5
	maxLevelsDrawn = 100
	stepsPerPage   = 100

	boxW, boxH   = 200, 70
	colGap       = 70
	rowGap       = 16
	lineH        = 16
	graphPad     = 8
	maxErrorRune = 500
)

// wfGraph is a workflow laid out for the page's SVG.
type wfGraph struct {
	Width, Height int
	Nodes         []wfNode
	Edges         []wfEdge
	// Levels counts the levels; Truncated when only the first
	// maxLevelsDrawn are drawn.
	Levels, Drawn int
	Truncated     bool
}

// wfNode is one box: a step, or the summary of a collapsed level.
type wfNode struct {
	X, Y, W, H int
	Level      int
	// A step's box.
	Step     *jobs.StepInfo
	Link     bool // the step's job exists: released or ended
	KindText string
	Queue    string
	Err      string // the error, cut to fit the box
	// A collapsed level's summary.
	Summary bool
	More    int // steps not drawn
	Counts  []stateCount
}

type wfEdge struct {
	Path string
}

type stateCount struct {
	State jobs.StepState
	N     int
	DY    int // the line's offset in a summary box
}

var stepStates = []jobs.StepState{jobs.StepWaiting, jobs.StepReleased, jobs.StepSucceeded, jobs.StepFailed, jobs.StepCancelled, jobs.StepSkipped}

func countStates(steps []jobs.StepInfo, idx []int) []stateCount {
	n := map[jobs.StepState]int{}
	for _, i := range idx {
		n[steps[i].State]++
	}
	var out []stateCount
	for _, s := range stepStates {
		if n[s] > 0 {
			out = append(out, stateCount{State: s, N: n[s]})
			delete(n, s)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(n)) { // states this dashboard does not know yet
		out = append(out, stateCount{State: s, N: n[s]})
	}
	return out
}

// stepLevels returns each step's level, from 0.
func stepLevels(steps []jobs.StepInfo) []int {
	lv := make([]int, len(steps))
	top := -1
	for i, s := range steps {
		if s.OnFailure {
			continue
		}
		for _, d := range s.DependsOn {
			if d >= 0 && d < i {
				lv[i] = max(lv[i], lv[d]+1)
			}
		}
		top = max(top, lv[i])
	}
	for i, s := range steps {
		if s.OnFailure {
			lv[i] = top + 1
		}
	}
	return lv
}

// stepLinked reports whether a step's job exists to link to.
func stepLinked(s jobs.StepState) bool {
	return s != jobs.StepWaiting && s != jobs.StepSkipped
}

func layoutWorkflow(wi *jobs.WorkflowInfo, levels []int) *wfGraph {
	g := &wfGraph{}
	var byLevel [][]int
	for i, l := range levels {
		for len(byLevel) <= l {
			byLevel = append(byLevel, nil)
		}
		byLevel[l] = append(byLevel[l], i)
	}
	g.Levels = len(byLevel)
	if len(byLevel) > maxLevelsDrawn {
		byLevel, g.Truncated = byLevel[:maxLevelsDrawn], true
	}
	g.Drawn = len(byLevel)
	node := make(map[int]int, len(wi.Steps)) // step → the node that draws it
	for l, idx := range byLevel {
		x := graphPad + l*(boxW+colGap)
		y := graphPad
		shown := idx
		if len(idx) > collapseOver {
			shown = idx[:collapsedShow]
		}
		for _, i := range shown {
			s := &wi.Steps[i]
			n := wfNode{X: x, Y: y, W: boxW, H: boxH, Level: l, Step: s, Link: stepLinked(s.State),
				KindText: cut(s.Kind, 24), Queue: cut(s.Queue, 20), Err: cut(firstLine(s.Error), 28)}
			if n.Err == "" {
				n.H = boxH - lineH
			}
			node[i] = len(g.Nodes)
			g.Nodes = append(g.Nodes, n)
			y += n.H + rowGap
		}
		if rest := idx[len(shown):]; len(rest) > 0 {
			cs := countStates(wi.Steps, rest)
			for k := range cs {
				cs[k].DY = 20 + (k+1)*lineH + 4
			}
			n := wfNode{X: x, Y: y, W: boxW, H: 2*lineH + 8 + len(cs)*lineH, Level: l, Summary: true, More: len(rest), Counts: cs}
			for _, i := range rest {
				node[i] = len(g.Nodes)
			}
			g.Nodes = append(g.Nodes, n)
			y += n.H + rowGap
		}
		g.Width = x + boxW + graphPad
		g.Height = max(g.Height, y-rowGap+graphPad)
	}
	type pair struct{ from, to int }
	seen := map[pair]bool{}
	for i, s := range wi.Steps {
		to, ok := node[i]
		if !ok {
			continue
		}
		for _, d := range s.DependsOn {
			from, ok := node[d]
			if !ok || seen[pair{from, to}] {
				continue
			}
			seen[pair{from, to}] = true
			a, b := g.Nodes[from], g.Nodes[to]
			x1, y1 := a.X+a.W, a.Y+a.H/2
			x2, y2 := b.X, b.Y+b.H/2
			mid := (x1 + x2) / 2
			g.Edges = append(g.Edges, wfEdge{Path: "M" + itoa(x1) + " " + itoa(y1) + " C" + itoa(mid) + " " + itoa(y1) + " " +
				itoa(mid) + " " + itoa(y2) + " " + itoa(x2-6) + " " + itoa(y2)})
		}
	}
	return g
}

func itoa(n int) string { return strconv.Itoa(n) }

// cut shortens s to at most n runes, ending it with "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// workflowView is what the workflow page draws.
type workflowView struct {
	WF      *jobs.WorkflowInfo
	Counts  []stateCount
	Graph   *wfGraph
	Rows    []wfRow // this page of the step list
	Level   int     // the level the list shows, -1 for all
	Levels  int
	Page    int
	Pages   int
	Total   int // steps in the list, over all its pages
	Base    string
	PrevURL string
	NextURL string
	AllURL  string
}

type wfRow struct {
	Step  *jobs.StepInfo
	Level int
	Link  bool
	Deps  string
	Error string
}

// levelURL is the step list of one level, from its first page.
func (v workflowView) LevelURL(level int) string {
	return v.Base + "?level=" + strconv.Itoa(level) + "#steps"
}

func (v workflowView) pageURL(page int) string {
	q := url.Values{}
	if v.Level >= 0 {
		q.Set("level", strconv.Itoa(v.Level))
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return v.Base + "#steps"
	}
	return v.Base + "?" + q.Encode() + "#steps"
}

// ranges writes step numbers with runs joined: "0-999", "2, 4-6".
func ranges(v []int) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(v[i]))
		if j > i {
			b.WriteString("–" + strconv.Itoa(v[j]))
		}
		i = j + 1
	}
	return b.String()
}

func (d *Dashboard) workflowPage(c echo.Context) error {
	id := c.Param("id")
	if un, err := url.PathUnescape(id); err == nil {
		id = un
	}
	level, page := -1, 1
	if s := c.QueryParam("level"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > jobs.MaxWorkflowSteps {
			return d.errorPage(c, errBadQuery.WithMessage(`query parameter "level" must be a level of the workflow`))
		}
		level = n
	}
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > jobs.MaxWorkflowSteps {
			return d.errorPage(c, errBadQuery.WithMessage(`query parameter "page" must be a page number`))
		}
		page = n
	}
	wi, err := d.workflow(c.Request().Context(), id)
	if err != nil {
		return d.errorPage(c, err)
	}
	levels := stepLevels(wi.Steps)
	v := workflowView{WF: wi, Graph: layoutWorkflow(wi, levels), Level: level, Page: page,
		Base: d.prefixOf(c) + "/workflows/" + url.PathEscape(wi.ID)}
	v.Levels = v.Graph.Levels
	all := make([]int, len(wi.Steps))
	for i := range all {
		all[i] = i
	}
	v.Counts = countStates(wi.Steps, all)
	var list []int
	for i, l := range levels {
		if level < 0 || l == level {
			list = append(list, i)
		}
	}
	if level >= v.Levels {
		return d.errorPage(c, errBadQuery.WithMessage(`query parameter "level" must be a level of the workflow`))
	}
	v.Total = len(list)
	v.Pages = max(1, (len(list)+stepsPerPage-1)/stepsPerPage)
	if page > v.Pages {
		return d.errorPage(c, errBadQuery.WithMessage(`query parameter "page" is past the last page`))
	}
	for _, i := range list[(page-1)*stepsPerPage : min(len(list), page*stepsPerPage)] {
		s := &wi.Steps[i]
		v.Rows = append(v.Rows, wfRow{Step: s, Level: levels[i], Link: stepLinked(s.State), Deps: ranges(s.DependsOn), Error: cut(s.Error, maxErrorRune)})
	}
	if page > 1 {
		v.PrevURL = v.pageURL(page - 1)
	}
	if page < v.Pages {
		v.NextURL = v.pageURL(page + 1)
	}
	if level >= 0 {
		v.AllURL = v.Base + "#steps"
	}
	return d.render(c, http.StatusOK, "workflow", d.page(c, "workflows", "Workflow "+wi.ID, v))
}

// searchWorkflow is the workflow lookup: GET /workflows?id=ID goes to the
// workflow's page; without an id it shows the form.
func (d *Dashboard) searchWorkflow(c echo.Context) error {
	if _, ok := c.QueryParams()["id"]; !ok {
		return d.render(c, http.StatusOK, "workflows", d.page(c, "workflows", "Workflows", nil))
	}
	id := strings.TrimSpace(c.QueryParam("id"))
	if id == "" {
		return d.errorPage(c, errBadQuery.WithMessage("Paste a workflow id into the box."))
	}
	if wf := workflowOfJob(id); wf != "" {
		id = wf // a step's job id finds its workflow
	}
	return c.Redirect(http.StatusSeeOther, d.prefixOf(c)+"/workflows/"+url.PathEscape(id))
}
