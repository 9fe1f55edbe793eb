package jobs

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// wfHash is a workflow's state as field → value, the layout of its Redis
// hash (see wfDef.fields). The memory backend runs the transitions below
// on it; the Redis backend runs the same transitions in Lua
// (workflow_redis.go), and the conformance suite holds the two to one
// behaviour.
type wfHash map[string]string

func newWFHash(fields []any) wfHash {
	h := make(wfHash, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		k := fields[i].(string)
		switch v := fields[i+1].(type) {
		case string:
			h[k] = v
		case int:
			h[k] = strconv.Itoa(v)
		}
	}
	return h
}

// wfMeta is the parsed meta field.
type wfMeta struct {
	created   time.Time
	retention time.Duration
	steps     int
	onFail    int
	owner     string
}

func (h wfHash) meta() (wfMeta, bool) {
	f := strings.SplitN(h["meta"], sep, 5)
	if len(f) != 5 {
		return wfMeta{}, false
	}
	created, e1 := strconv.ParseInt(f[0], 10, 64)
	ret, e2 := strconv.ParseInt(f[1], 10, 64)
	n, e3 := strconv.Atoi(f[2])
	of, e4 := strconv.Atoi(f[3])
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
		return wfMeta{}, false
	}
	return wfMeta{created: time.UnixMilli(created), retention: time.Duration(ret) * time.Millisecond, steps: n, onFail: of, owner: f[4]}, true
}

func (h wfHash) incr(k string, d int) int {
	n, _ := strconv.Atoi(h[k])
	n += d
	h[k] = strconv.Itoa(n)
	return n
}

func stepEnded(s string) bool { return s == "s" || s == "f" || s == "c" || s == "k" || s == "u" }

// stepOK reports whether an ended step lets the steps after it run.
func stepOK(s string) bool { return s == "s" || s == "u" }

// stepDone records step's outcome and returns the steps it released, and
// whether the workflow ended (then the caller sets its expiry to the
// retention). A step whose outcome is already recorded (a repeated
// delivery) changes nothing and returns the steps its outcome had released
// that are still marked released, so a release lost in a crash is
// repeated. found is false when the workflow or step is unknown.
func (h wfHash) stepDone(step int, out stepOutcome, now time.Time) (rs []release, ended, found bool) {
	m, ok := h.meta()
	is := strconv.Itoa(step)
	st, known := h["s"+is]
	if !ok || !known {
		return nil, false, false
	}
	of := strconv.Itoa(m.onFail)
	cancelled := h["state"] == string(WorkflowCancelled)
	var released []int
	if stepEnded(st) {
		if !cancelled {
			for _, k := range splitInts(h["d"+is]) {
				if h["s"+strconv.Itoa(k)] == "r" {
					released = append(released, k)
				}
			}
			if m.onFail >= 0 && !stepOK(st) && h["s"+of] == "r" {
				released = append(released, m.onFail)
			}
		}
		return h.releases(released), false, true
	}
	setEnded := func(k int, s string) {
		ks := strconv.Itoa(k)
		h["s"+ks] = s
		if k != m.onFail {
			h.incr("open", -1)
		}
	}
	release := func(k int) {
		ks := strconv.Itoa(k)
		if !cancelled && h["s"+ks] == "w" {
			h["s"+ks] = "r"
			released = append(released, k)
		}
	}
	setEnded(step, string(out.state))
	if out.state == 's' {
		h["o"+is] = out.value
	} else {
		h["e"+is] = out.value
	}
	// Tell each dependent; a failure skips the ones that are not partial,
	// and theirs in turn (a work list, not recursion: a chain may be long).
	type note struct {
		step int
		ok   bool
	}
	work := []note{}
	for _, k := range splitInts(h["d"+is]) {
		work = append(work, note{k, stepOK(string(out.state))})
	}
	for len(work) > 0 {
		n := work[0]
		work = work[1:]
		ks := strconv.Itoa(n.step)
		left := h.incr("n"+ks, -1)
		if n.ok || h["p"+ks] == "1" {
			if left <= 0 {
				release(n.step)
			}
			continue
		}
		if h["s"+ks] != "w" {
			continue
		}
		setEnded(n.step, "k")
		for _, k := range splitInts(h["d"+ks]) {
			work = append(work, note{k, false})
		}
	}
	if !stepOK(string(out.state)) && step != m.onFail {
		h["failed"] = "1"
		if m.onFail >= 0 {
			release(m.onFail)
		}
	}
	ended = h.maybeEnd(m, now)
	return h.releases(released), ended, true
}

// maybeEnd ends the workflow when every step has ended (an on-failure step
// never needed is skipped), and reports whether it did.
func (h wfHash) maybeEnd(m wfMeta, now time.Time) bool {
	if h["state"] != string(WorkflowRunning) {
		return false
	}
	if n, _ := strconv.Atoi(h["open"]); n > 0 {
		return false
	}
	if m.onFail >= 0 {
		of := "s" + strconv.Itoa(m.onFail)
		switch h[of] {
		case "w":
			h[of] = "k"
		case "r":
			return false
		}
	}
	h["state"] = string(WorkflowSucceeded)
	if h["failed"] == "1" {
		h["state"] = string(WorkflowFailed)
	}
	h["fin"] = strconv.FormatInt(now.UnixMilli(), 10)
	return true
}

func (h wfHash) releases(steps []int) []release {
	out := make([]release, 0, len(steps))
	for _, k := range steps {
		if r, ok := parseRelease(k, h["m"+strconv.Itoa(k)]); ok {
			out = append(out, r)
		}
	}
	return out
}

// cancel ends a running workflow: waiting steps are skipped, released ones
// marked cancelled and returned (to cancel as jobs). ok is false if the
// workflow had already ended.
func (h wfHash) cancel(now time.Time) (rs []release, ok bool) {
	m, valid := h.meta()
	if !valid || h["state"] != string(WorkflowRunning) {
		return nil, false
	}
	var steps []int
	for k := 0; k < m.steps; k++ {
		ks := strconv.Itoa(k)
		switch h["s"+ks] {
		case "w":
			h["s"+ks] = "k"
		case "r":
			h["s"+ks], h["e"+ks] = "c", "workflow cancelled"
			steps = append(steps, k)
		}
	}
	h["state"], h["open"], h["fin"] = string(WorkflowCancelled), "0", strconv.FormatInt(now.UnixMilli(), 10)
	return h.releases(steps), true
}

// inputs returns the outcomes step waited for (the failed steps for the
// on-failure step).
func (h wfHash) inputs(wf string, step int) []StepResult {
	m, ok := h.meta()
	if !ok {
		return nil
	}
	var deps []int
	if step == m.onFail {
		for k := 0; k < m.steps; k++ {
			if s := h["s"+strconv.Itoa(k)]; k != step && (s == "f" || s == "c") {
				deps = append(deps, k)
			}
		}
	} else {
		deps = splitInts(h["a"+strconv.Itoa(step)])
	}
	out := make([]StepResult, 0, len(deps))
	for _, k := range deps {
		ks := strconv.Itoa(k)
		out = append(out, stepResult(wf, k, h["k"+ks], h["s"+ks], h["o"+ks], h["e"+ks]))
	}
	return out
}

func stepResult(wf string, k int, kind, st, res, errMsg string) StepResult {
	r := StepResult{Step: k, JobID: stepID(wf, k), Kind: kind, State: stepState(st), Error: errMsg}
	if res != "" {
		r.Result = json.RawMessage(res)
	}
	return r
}

// info builds the workflow's description.
func (h wfHash) info(wf string) (*WorkflowInfo, bool) {
	m, ok := h.meta()
	if !ok {
		return nil, false
	}
	wi := &WorkflowInfo{ID: wf, State: WorkflowState(h["state"]), Owner: m.owner, CreatedAt: m.created}
	if ms, err := strconv.ParseInt(h["fin"], 10, 64); err == nil {
		wi.FinishedAt = time.UnixMilli(ms)
	}
	wi.Steps = make([]StepInfo, m.steps)
	for k := range m.steps {
		ks := strconv.Itoa(k)
		r := stepResult(wf, k, h["k"+ks], h["s"+ks], h["o"+ks], h["e"+ks])
		si := StepInfo{Step: k, JobID: r.JobID, Kind: r.Kind, State: r.State, Result: r.Result, Error: r.Error,
			DependsOn: splitInts(h["a"+ks]), Partial: h["p"+ks] == "1", OnFailure: k == m.onFail}
		if rel, ok := parseRelease(k, h["m"+ks]); ok {
			si.Queue = rel.queue
		}
		wi.Steps[k] = si
	}
	return wi, true
}
