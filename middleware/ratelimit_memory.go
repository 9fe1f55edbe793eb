package middleware

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// MemoryStoreConfig configures a [MemoryStore]. The zero value is valid.
type MemoryStoreConfig struct {
	// MaxKeys caps the keys held; default 100,000 (about 100 bytes each).
	// Size it for the clients active within one Period.
	//
	// When a shard is full, only keys whose state has expired (back to a
	// full quota, so forgetting them changes nothing) are evicted: a live
	// counter is never dropped, so a client spraying distinct keys cannot
	// reset anyone's exhausted quota. If no key has expired, the new key
	// is counted in that shard's overflow bucket, one GCRA state per Limit
	// shared by every key that found the shard full, until keys expire:
	// under a spray, new clients of that shard share one quota (limited,
	// never unlimited) while known clients keep theirs.
	MaxKeys int
	// Shards is the number of independently locked shards, rounded up to a
	// power of two; default 64.
	Shards int
	// Now returns the current time; default time.Now (tests inject a clock).
	Now func() time.Time
}

// MemoryStore is a [Store] in process memory: GCRA, one timestamp per key,
// sharded locks. It is exact for one instance; several instances need
// [RedisStore]. Safe for concurrent use; it starts no goroutines (expired
// keys are evicted as shards fill and swept incrementally on writes).
type MemoryStore struct {
	seed   maphash.Seed
	mask   uint64
	shards []memShard
	perCap int
	now    func() time.Time
}

type memShard struct {
	mu     sync.Mutex
	tat    map[string]int64 // theoretical arrival time, unix ns; expired when <= now
	writes uint32
	// minTat is a lower bound of the tats held: before it, no key can
	// have expired and a full shard need not be scanned.
	minTat   int64
	overflow map[Limit]int64 // tat of the keys that found the shard full
	// last is the latest time a decision in this shard used. Requests read
	// the clock before they reach the lock, so they can arrive out of
	// order; a decision never uses a time before last, or a request that
	// read the clock early would be judged against a TAT already moved by a
	// later one and be refused below the limit.
	last int64
	_    [16]byte // keep shards on separate cache lines
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a MemoryStore.
func NewMemoryStore(cfg MemoryStoreConfig) *MemoryStore {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	n := 1
	for n < cfg.Shards {
		n <<= 1
	}
	s := &MemoryStore{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]memShard, n),
		perCap: max(cfg.MaxKeys/n, 1),
		now:    cfg.Now,
	}
	for i := range s.shards {
		s.shards[i].tat = make(map[string]int64)
	}
	return s
}

// Allow counts one request for key; it never fails.
func (s *MemoryStore) Allow(_ context.Context, key string, limit Limit) (Result, error) {
	if err := limit.validate(); err != nil {
		return Result{}, err
	}
	now := time.Now()
	if s.now != nil {
		now = s.now()
	}
	return s.allow(key, limit, now), nil
}

// Len returns the number of keys held (expired ones included until evicted).
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.tat)
		sh.mu.Unlock()
	}
	return n
}

func (s *MemoryStore) allow(key string, limit Limit, now time.Time) Result {
	if s.now != nil {
		now = s.now()
	}
	sh := &s.shards[maphash.String(s.seed, key)&s.mask]
	interval := int64(limit.interval())
	burst := int64(limit.burst())
	t := now.UnixNano()

	sh.mu.Lock()
	if t < sh.last {
		t = sh.last
	} else {
		sh.last = t
	}
	tat, ok := sh.tat[key]
	if !ok || tat < t {
		tat = t
	}
	newTat := tat + interval
	diff := t - (newTat - burst*interval)
	if diff < 0 {
		sh.mu.Unlock()
		return Result{Limit: int(burst), ResetAfter: time.Duration(tat - t), RetryAfter: time.Duration(-diff)}
	}
	if !ok {
		if len(sh.tat) >= s.perCap && !sh.evict(t, s.perCap) {
			res := sh.allowOverflow(limit, t, interval, burst)
			sh.mu.Unlock()
			return res
		}
		key = clone(key) // the map keeps it: do not pin a request's buffers
		sh.minTat = min(sh.minTat, newTat)
	}
	sh.tat[key] = newTat
	sh.writes++
	if sh.writes&1023 == 0 {
		sh.sweep(t, 64)
	}
	sh.mu.Unlock()
	return Result{Allowed: true, Limit: int(burst), Remaining: int(diff / interval), ResetAfter: time.Duration(newTat - t)}
}

// sweep deletes up to n expired keys met in a (random-order) scan of at most 4n keys.
func (sh *memShard) sweep(now int64, n int) {
	seen := 0
	for k, v := range sh.tat {
		if v <= now {
			delete(sh.tat, k)
			n--
		}
		seen++
		if n <= 0 || seen >= 4*n+64 {
			return
		}
	}
}

// evict makes room for one key by deleting the expired ones; it reports
// whether there is room. Live keys are never evicted, and a shard in which
// nothing can have expired yet (minTat) is not scanned.
func (sh *memShard) evict(now int64, limit int) bool {
	if now < sh.minTat {
		return false
	}
	least := int64(math.MaxInt64)
	for k, v := range sh.tat {
		if v <= now {
			delete(sh.tat, k)
		} else {
			least = min(least, v)
		}
	}
	sh.minTat = least
	for l, v := range sh.overflow {
		if v <= now {
			delete(sh.overflow, l)
		}
	}
	return len(sh.tat) < limit
}

// allowOverflow counts a request of a new key in a full shard against the
// shard's shared bucket for limit.
func (sh *memShard) allowOverflow(limit Limit, t, interval, burst int64) Result {
	if sh.overflow == nil {
		sh.overflow = make(map[Limit]int64)
	}
	tat, ok := sh.overflow[limit]
	if !ok || tat < t {
		tat = t
	}
	newTat := tat + interval
	diff := t - (newTat - burst*interval)
	if diff < 0 {
		return Result{Limit: int(burst), ResetAfter: time.Duration(tat - t), RetryAfter: time.Duration(-diff)}
	}
	sh.overflow[limit] = newTat
	return Result{Allowed: true, Limit: int(burst), Remaining: int(diff / interval), ResetAfter: time.Duration(newTat - t)}
}

func clone(s string) string { return string(append([]byte(nil), s...)) }
