package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// testBackend is one backend under an internal test, with a way to list
// what it still holds.
type testBackend struct {
	name string
	new  func(t *testing.T) (Backend, func() []string)
}

// testBackends returns the memory and the Redis backend. The second value
// of new lists what the backend still holds besides the set of queue names
// and the per-minute counters of Stats (queue-wide, expiring after 2 h):
// Redis keys under the test's prefix, or the memory backend's non-empty
// internal maps.
func testBackends() []testBackend {
	return []testBackend{
		{"memory", func(*testing.T) (Backend, func() []string) {
			b := NewMemoryBackend()
			return b, b.leftovers
		}},
		{"redis", func(t *testing.T) (Backend, func() []string) {
			rdb, prefix := testenv.Redis(t)
			b, err := NewRedisBackend(rdb, RedisConfig{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return b, func() []string {
				ctx := context.Background()
				var keys []string
				iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator() // the prefix is "test:<hex>:": no glob characters
				for iter.Next(ctx) {
					keys = append(keys, iter.Val())
				}
				if err := iter.Err(); err != nil {
					return []string{"SCAN: " + err.Error()}
				}
				keys = slices.DeleteFunc(keys, func(k string) bool {
					return k == prefix+"queues" ||
						strings.HasPrefix(k, prefix+"{reg}:") || // runners' and schedulers' records
						strings.Contains(k, "}:m:") // per-minute counters (2 h TTL)
				})
				slices.Sort(keys)
				for i, k := range keys {
					keys[i] = strings.TrimPrefix(k, prefix)
				}
				return keys
			}
		}},
	}
}

// leftovers lists the memory backend's internal maps that still hold
// entries, for tests asserting that nothing is left behind.
func (b *MemoryBackend) leftovers() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	if len(b.jobs) > 0 {
		out = append(out, fmt.Sprintf("jobs: %d", len(b.jobs)))
	}
	now := time.Now()
	for id, w := range b.wfs {
		if w.expires.IsZero() || w.expires.After(now) {
			out = append(out, "workflow "+id)
		}
	}
	for name, q := range b.qs {
		for what, n := range map[string]int{"pending": len(q.pending), "sched": len(q.sched), "leases": len(q.leases),
			"dead": len(q.dead), "cancelled": len(q.cancelled), "uniq": len(q.uniq)} {
			if n > 0 {
				out = append(out, fmt.Sprintf("%s.%s: %d", name, what, n))
			}
		}
	}
	slices.Sort(out)
	return out
}
