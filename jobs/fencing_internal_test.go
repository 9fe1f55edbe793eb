package jobs

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// TestFencedAcks drives a backend directly: an ack whose lease expired, or
// whose token is not the current lease's, is refused.
func TestFencedAcks(t *testing.T) {
	backends := map[string]func(t *testing.T) Backend{
		"memory": func(*testing.T) Backend { return NewMemoryBackend() },
		"redis": func(t *testing.T) Backend {
			rdb, prefix := testenv.Redis(t)
			b, err := NewRedisBackend(rdb, RedisConfig{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for name, nb := range backends {
		t.Run(name, func(t *testing.T) {
			b := nb(t)
			ctx := t.Context()
			c, _ := NewClient(b, ClientConfig{})
			info, err := c.Enqueue(ctx, fenceArgs{}, MaxRetry(5))
			if err != nil {
				t.Fatal(err)
			}
			fetch := func(token string, n int, maint bool, acks ...*ack) *fetchResp {
				t.Helper()
				resp, err := b.fetch(ctx, &fetchReq{queue: "default", acks: acks, n: n, token: token, now: time.Now(),
					lease: 100 * time.Millisecond, maint: maint, deadMax: 10, deadAge: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			success := func(token string) *ack {
				return &ack{id: info.ID, token: token, kind: ackSuccess, attempts: 1, retention: time.Hour}
			}
			if got := fetch("A", 1, false); len(got.jobs) != 1 {
				t.Fatalf("fetch A leased %d jobs; want 1", len(got.jobs))
			}
			time.Sleep(150 * time.Millisecond) // A's lease expires
			if got := fetch("X", 0, false, success("A")); got.refused != 1 {
				t.Errorf("ack after the lease expired: refused = %d; want 1", got.refused)
			}
			got := fetch("B", 1, true) // maintenance returns the expired lease; B leases the job again
			if len(got.jobs) != 1 {
				t.Fatalf("fetch B leased %d jobs; want 1", len(got.jobs))
			}
			if m, _ := decodeMessage(got.jobs[0].raw); m == nil || m.Retried != 1 {
				t.Errorf("re-leased job retried = %+v; want 1 (the expired lease counts an attempt)", m)
			}
			if got := fetch("X", 0, false, success("A")); got.refused != 1 {
				t.Errorf("stale token A: refused = %d; want 1", got.refused)
			}
			if lost, _, err := b.heartbeat(ctx, "default", []leaseRef{{info.ID, "A"}}, time.Now(), time.Second); err != nil || len(lost) != 1 {
				t.Errorf("heartbeat with stale token: lost = %v, %v; want the job", lost, err)
			}
			if got := fetch("X", 0, false, success("B")); got.refused != 0 {
				t.Errorf("current token B: refused = %d; want 0", got.refused)
			}
			if ji, err := b.job(ctx, []string{"default"}, info.ID, time.Now()); err != nil || ji.State != StateSucceeded {
				t.Errorf("job = %+v, %v; want succeeded", ji, err)
			}
		})
	}
}

type fenceArgs struct{}

func (fenceArgs) Kind() string { return "fence" }
