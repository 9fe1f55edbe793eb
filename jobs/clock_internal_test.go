package jobs

import (
	"testing"
	"time"
)

// TestLeaseClockSkew drives a backend as three workers whose clocks
// disagree: A leases a job, B's clock runs a minute ahead and sweeps
// expired leases, A's own clock then runs a minute behind when it extends
// and acks. Leases are judged by the backend's clock (Redis's TIME; the
// memory backend's one process clock), so B reclaims nothing, A's extension
// is not cut short and A's ack is taken.
func TestLeaseClockSkew(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			ctx := t.Context()
			c, _ := NewClient(b, ClientConfig{})
			info, err := c.Enqueue(ctx, fenceArgs{}, MaxRetry(5))
			if err != nil {
				t.Fatal(err)
			}
			const lease = 3 * time.Second
			fetch := func(token string, skew time.Duration, n int, acks ...*ack) *fetchResp {
				t.Helper()
				resp, err := b.fetch(ctx, &fetchReq{queue: "default", acks: acks, n: n, token: token, now: time.Now().Add(skew),
					lease: lease, maint: true, deadMax: 10, deadAge: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			if got := fetch("A", 0, 1); len(got.jobs) != 1 {
				t.Fatalf("A leased %d jobs; want 1", len(got.jobs))
			}
			reclaimed := 0
			for range 5 { // B, a minute ahead, polls and sweeps
				reclaimed += len(fetch("B", time.Minute, 1).jobs)
			}
			// A, a minute behind, extends its lease; C, on time, sweeps.
			lost, _, err := b.heartbeat(ctx, "default", []leaseRef{{info.ID, "A"}}, time.Now().Add(-time.Minute), lease)
			if err != nil || len(lost) != 0 {
				t.Errorf("heartbeat of A (clock 1 min behind): lost %v, %v; want its lease extended", lost, err)
			}
			reclaimed += len(fetch("C", 0, 1).jobs)
			if reclaimed != 0 {
				t.Errorf("workers with skewed clocks leased A's running job %d times; want 0", reclaimed)
			}
			if s, err := b.sizes(ctx, "default", time.Now()); err != nil || s.Active != 1 || s.Pending != 0 {
				t.Errorf("sizes = %+v, %v; want 1 active, 0 pending", s, err)
			}
			got := fetch("A", -time.Minute, 0, &ack{id: info.ID, token: "A", kind: ackSuccess, attempts: 1, retention: time.Hour})
			if got.refused != 0 {
				t.Errorf("A's ack (clock 1 min behind): refused %d; want 0", got.refused)
			}
			if ji, err := b.job(ctx, []string{"default"}, info.ID, time.Now()); err != nil || ji.State != StateSucceeded || ji.Attempts != 1 {
				t.Errorf("job = %+v, %v; want succeeded after 1 attempt", ji, err)
			}
		})
	}
}
