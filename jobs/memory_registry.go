package jobs

import (
	"context"
	"sync"
	"time"
)

// memRegistry holds a MemoryBackend's worker and schedule records, judged
// by this process's clock.
type memRegistry struct {
	mu    sync.Mutex
	sets  map[string]map[string]*memRecord // set → id → record
	fires map[schedKey]lastFire
}

type memRecord struct {
	data        []byte
	at, expires time.Time
}

func (b *MemoryBackend) registry() *memRegistry { return &b.reg }

// set returns the live records of name, dropping expired ones. The caller
// holds r.mu.
func (r *memRegistry) set(name string, now time.Time) map[string]*memRecord {
	if r.sets == nil {
		r.sets = map[string]map[string]*memRecord{}
	}
	s := r.sets[name]
	if s == nil {
		s = map[string]*memRecord{}
		r.sets[name] = s
	}
	for id, rec := range s {
		if !rec.expires.After(now) {
			delete(s, id)
		}
	}
	return s
}

func (b *MemoryBackend) putRecords(_ context.Context, set string, recs []regRecord, ttl time.Duration) error {
	r := b.registry()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now() // the backend's clock, not the caller's
	s := r.set(set, now)
	for _, rec := range recs {
		s[rec.id] = &memRecord{data: append([]byte(nil), rec.data...), at: now, expires: now.Add(max(ttl, time.Millisecond))}
	}
	return nil
}

func (b *MemoryBackend) delRecords(_ context.Context, set string, ids []string) error {
	r := b.registry()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.set(set, time.Now())
	for _, id := range ids {
		delete(s, id)
	}
	return nil
}

func (b *MemoryBackend) records(_ context.Context, set string) ([]regRecord, error) {
	r := b.registry()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.set(set, time.Now())
	out := make([]regRecord, 0, len(s))
	for id, rec := range s {
		out = append(out, regRecord{id: id, data: rec.data, at: rec.at})
	}
	return out, nil
}

func (b *MemoryBackend) setLastFire(_ context.Context, queue, name string, tick time.Time, jobID string) error {
	r := b.registry()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fires == nil {
		r.fires = map[schedKey]lastFire{}
	}
	k := schedKey{queue, name}
	tick = msToTime(tick.UnixMilli()) // as the tick guard stores it
	if cur, ok := r.fires[k]; ok && cur.tick.After(tick) {
		return nil
	}
	r.fires[k] = lastFire{tick: tick, jobID: jobID}
	return nil
}

func (b *MemoryBackend) lastFires(ctx context.Context, keys []schedKey) ([]lastFire, error) {
	out := make([]lastFire, len(keys))
	for i, k := range keys {
		tick, err := b.lastTick(ctx, k.queue, k.name)
		if err != nil {
			return nil, err
		}
		out[i].tick = tick
	}
	r := b.registry()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, k := range keys {
		if f, ok := r.fires[k]; ok && !f.tick.Before(out[i].tick) {
			out[i] = f
		}
	}
	return out, nil
}
