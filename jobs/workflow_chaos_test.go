package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

// chaosMember is a member of the chaos test's chord: it counts its run in
// the hash <prefix>chaos:runs (field I), sleeps 100–300 ms and returns I as
// its result, counting the end of its run in <prefix>chaos:ends.
type chaosMember struct {
	I int `json:"i"`
}

func (chaosMember) Kind() string { return "chaos_member" }

// chaosCallback is the chord's callback: it reads its inputs, counts its
// run in <prefix>chaos:cb and stores what it saw in <prefix>chaos:seen.
type chaosCallback struct{}

func (chaosCallback) Kind() string { return "chaos_callback" }

// chaosSeen is what the callback found in its inputs.
type chaosSeen struct {
	Inputs    int `json:"inputs"`
	Succeeded int `json:"succeeded"`
	InOrder   int `json:"in_order"` // inputs whose result is their position
}

func init() {
	helperKinds = append(helperKinds, func(ws *jobs.Workers, rdb *redis.Client, prefix string) {
		jobs.AddWorker(ws, jobs.WorkerFunc[chaosMember](func(ctx context.Context, j *jobs.Job[chaosMember]) error {
			if err := rdb.HIncrBy(context.Background(), prefix+"chaos:runs", strconv.Itoa(j.Args.I), 1).Err(); err != nil {
				return err
			}
			select {
			case <-time.After(100*time.Millisecond + rand.N(200*time.Millisecond)):
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := rdb.HIncrBy(context.Background(), prefix+"chaos:ends", strconv.Itoa(j.Args.I), 1).Err(); err != nil {
				return err
			}
			return j.SetResult(j.Args.I)
		}))
		jobs.AddWorker(ws, jobs.WorkerFunc[chaosCallback](func(ctx context.Context, j *jobs.Job[chaosCallback]) error {
			in, err := j.Inputs(ctx)
			if err != nil {
				return err
			}
			bg := context.Background()
			if err := rdb.Incr(bg, prefix+"chaos:cb").Err(); err != nil {
				return err
			}
			seen := chaosSeen{Inputs: len(in)}
			for k, r := range in {
				if r.State == jobs.StepSucceeded {
					seen.Succeeded++
				}
				var v int
				if r.Decode(&v) == nil && v == k {
					seen.InOrder++
				}
			}
			b, _ := json.Marshal(seen)
			return rdb.Set(bg, prefix+"chaos:seen", b, 0).Err()
		}))
	})
}

// TestWorkflowChaos runs a chord of 1,000 members and a callback on three
// worker processes (concurrency 20, lease 2 s) and SIGKILLs the oldest
// worker every 300–500 ms, starting a replacement each time, until every
// member has started at least once. Every member runs, the callback runs
// exactly once and sees 1,000 succeeded inputs in order, the workflow
// succeeds, and after the retention of its jobs and its own nothing is
// left under the prefix but what a runner keeps (the set of queues, the
// runners' records, the per-minute counters).
//
// Kills stop once every member has started, before the callback can be
// released (a member runs 100 ms at least after its start is counted): a
// worker killed while running the callback would run it again, as
// at-least-once delivery allows. What is under test is that the members'
// repeated outcomes (a member killed after its outcome was recorded and
// before its ack runs again) and simultaneous completions release the
// callback once.
func TestWorkflowChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes and kills them for about 10 s")
	}
	t.Parallel()
	const (
		members   = 1000
		conc      = 20
		lease     = 2 * time.Second
		retention = time.Second
		minKills  = 3
		maxKills  = 10
	)
	rdb, prefix := testenv.Redis(t)
	ctx := t.Context()
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	c, err := jobs.NewClient(b, jobs.ClientConfig{Retention: retention})
	if err != nil {
		t.Fatal(err)
	}
	insp := jobs.NewInspector(b)
	start := func() *exec.Cmd { return helper(t, prefix, conc, 0, lease, 0) }
	workers := []*exec.Cmd{start(), start(), start()} // oldest first
	waitFor(t, "3 worker processes", 30*time.Second, func() bool {
		ws, err := insp.Workers(ctx)
		return err == nil && len(ws) == 3
	})

	ms := make([]jobs.Node, members)
	for i := range ms {
		ms[i] = jobs.Step(chaosMember{I: i})
	}
	wi, err := c.EnqueueWorkflow(ctx, jobs.Chord(jobs.Group(ms...), jobs.Step(chaosCallback{})),
		jobs.WorkflowRetention(retention))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	started := func() int64 {
		n, err := rdb.HLen(ctx, prefix+"chaos:runs").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	kills := 0
	for kills < maxKills {
		time.Sleep(300*time.Millisecond + rand.N(200*time.Millisecond))
		if started() >= members {
			break
		}
		victim := workers[0]
		_ = victim.Process.Kill()
		_ = victim.Wait()
		kills++
		workers = append(workers[1:], start())
	}
	t.Logf("%d SIGKILLs in %v; %d members started by then", kills, time.Since(began).Round(time.Millisecond), started())
	if kills < minKills {
		t.Fatalf("only %d SIGKILLs before every member had started; want at least %d (members too fast for the test to mean anything)", kills, minKills)
	}

	var info *jobs.WorkflowInfo
	waitFor(t, "the workflow to end", 45*time.Second, func() bool {
		info, err = insp.Workflow(ctx, wi.ID)
		return err == nil && info.State != jobs.WorkflowRunning
	})
	t.Logf("workflow ended %v after enqueue", info.FinishedAt.Sub(info.CreatedAt).Round(time.Millisecond))
	if info.State != jobs.WorkflowSucceeded {
		t.Errorf("workflow state = %s; want succeeded", info.State)
	}
	for _, s := range info.Steps {
		if s.State != jobs.StepSucceeded {
			t.Errorf("step %d (%s): %s %s; want succeeded", s.Step, s.Kind, s.State, s.Error)
		}
	}

	runs, err := rdb.HGetAll(ctx, prefix+"chaos:runs").Result()
	if err != nil {
		t.Fatal(err)
	}
	ends, err := rdb.HGetAll(ctx, prefix+"chaos:ends").Result()
	if err != nil {
		t.Fatal(err)
	}
	total, again, finishedTwice := 0, 0, 0
	for i := range members {
		n, _ := strconv.Atoi(runs[strconv.Itoa(i)])
		if n == 0 {
			t.Errorf("member %d never ran", i)
		}
		total += n
		if n > 1 {
			again++
		}
		if e, _ := strconv.Atoi(ends[strconv.Itoa(i)]); e > 1 {
			finishedTwice++ // killed after its handler returned, before its ack
		}
	}
	t.Logf("%d member runs for %d members: %d ran again after a kill, %d of them after their handler had returned",
		total, members, again, finishedTwice)
	// Each kill catches at most the victim's conc running members.
	if dup := total - members; dup > kills*conc {
		t.Errorf("%d repeated member runs over %d kills; want at most %d (%d in flight per kill)", dup, kills, kills*conc, conc)
	}
	if again == 0 {
		t.Errorf("no member ran twice: the kills caught no work in flight, the test proved nothing")
	}
	if n, err := rdb.Get(ctx, prefix+"chaos:cb").Int(); err != nil || n != 1 {
		t.Errorf("callback runs = %d, %v; want exactly 1", n, err)
	}
	raw, err := rdb.Get(ctx, prefix+"chaos:seen").Bytes()
	var seen chaosSeen
	if err == nil {
		err = json.Unmarshal(raw, &seen)
	}
	if err != nil || seen != (chaosSeen{Inputs: members, Succeeded: members, InOrder: members}) {
		t.Errorf("callback saw %+v (%v); want %d inputs, all succeeded, in order", seen, err, members)
	}

	// After the retention of the jobs and the workflow, nothing is left.
	if err := rdb.Del(ctx, prefix+"chaos:runs", prefix+"chaos:ends", prefix+"chaos:cb", prefix+"chaos:seen").Err(); err != nil {
		t.Fatal(err)
	}
	var left []string
	deadline := time.Now().Add(retention + 15*time.Second)
	for {
		left = chaosLeftovers(t, rdb, prefix)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left in Redis %v after the workflow ended: %v", time.Since(info.FinishedAt).Round(time.Millisecond), left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := insp.Workflow(ctx, wi.ID); err != jobs.ErrNotFound {
		t.Errorf("Workflow after its retention: %v; want ErrNotFound", err)
	}
}

// chaosLeftovers lists the keys under prefix other than those a runner
// keeps (the leftovers check of the internal tests, testBackends): the set
// of queues, the runners' and schedulers' records, the per-minute counters.
func chaosLeftovers(t *testing.T, rdb *redis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	iter := rdb.Scan(t.Context(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(t.Context()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	keys = slices.DeleteFunc(keys, func(k string) bool {
		return k == prefix+"queues" || strings.HasPrefix(k, prefix+"{reg}:") || strings.Contains(k, "}:m:")
	})
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s (%s)", strings.TrimPrefix(k, prefix), rdb.Type(t.Context(), k).Val())
	}
	return keys
}
