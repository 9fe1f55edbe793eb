package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"
)

// MemoryIdempotencyStoreConfig configures a [MemoryIdempotencyStore].
type MemoryIdempotencyStoreConfig struct {
	// MaxBytes bounds the memory the records take (keys, headers and
	// bodies, plus ~200 bytes each); default 64 MiB. When a completed
	// response does not fit, even after dropping expired records, it is
	// not kept (a repeat gets [ErrIdempotencyNotStored]); when not even a
	// reservation fits, Reserve fails with [ErrIdempotencyStoreFull].
	MaxBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ErrIdempotencyStoreFull is returned by [MemoryIdempotencyStore.Reserve]
// when its MaxBytes is taken by unexpired records.
var ErrIdempotencyStoreFull = errors.New("middleware: memory idempotency store full")

// MemoryIdempotencyStore is an [IdempotencyStore] in process memory, for a
// single instance and tests: keys are never shared with other processes.
// Expired records are dropped when met and swept when memory runs short.
// Safe for concurrent use.
type MemoryIdempotencyStore struct {
	mu    sync.Mutex
	m     map[string]memIdem
	bytes int64
	max   int64
	now   func() time.Time
}

type memIdem struct {
	rec     IdempotencyRecord
	expires time.Time
	size    int64
}

var _ IdempotencyStore = (*MemoryIdempotencyStore)(nil)

// NewMemoryIdempotencyStore returns an empty store.
func NewMemoryIdempotencyStore(cfg MemoryIdempotencyStoreConfig) *MemoryIdempotencyStore {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &MemoryIdempotencyStore{m: map[string]memIdem{}, max: cfg.MaxBytes, now: cfg.Now}
}

func recordSize(key string, rec IdempotencyRecord) int64 {
	n := int64(200 + len(key) + len(rec.Fingerprint) + len(rec.Token))
	if r := rec.Response; r != nil {
		n += int64(len(r.Body))
		for k, vs := range r.Header {
			n += int64(len(k))
			for _, v := range vs {
				n += int64(len(v)) + 16
			}
		}
	}
	return n
}

func cloneRecord(rec IdempotencyRecord) IdempotencyRecord {
	if rec.Response != nil {
		r := *rec.Response
		r.Header = r.Header.Clone()
		if r.Header == nil {
			r.Header = http.Header{}
		}
		r.Body = slices.Clone(r.Body)
		rec.Response = &r
	}
	return rec
}

// get returns key's live record; s.mu is held.
func (s *MemoryIdempotencyStore) get(key string, now time.Time) (memIdem, bool) {
	e, ok := s.m[key]
	if ok && !now.Before(e.expires) {
		s.drop(key)
		return memIdem{}, false
	}
	return e, ok
}

func (s *MemoryIdempotencyStore) drop(key string) {
	if e, ok := s.m[key]; ok {
		s.bytes -= e.size
		delete(s.m, key)
	}
}

// fits makes room for n more bytes if it can, sweeping expired records;
// s.mu is held.
func (s *MemoryIdempotencyStore) fits(n int64, now time.Time) bool {
	if s.bytes+n <= s.max {
		return true
	}
	for k, e := range s.m {
		if !now.Before(e.expires) {
			s.drop(k)
		}
	}
	return s.bytes+n <= s.max
}

// Reserve reserves key unless it holds a live record.
func (s *MemoryIdempotencyStore) Reserve(_ context.Context, key, fingerprint, token string, lease time.Duration) (IdempotencyRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if e, ok := s.get(key, now); ok {
		return cloneRecord(e.rec), false, nil
	}
	rec := IdempotencyRecord{Fingerprint: fingerprint, Token: token}
	size := recordSize(key, rec)
	if !s.fits(size, now) {
		return IdempotencyRecord{}, false, ErrIdempotencyStoreFull
	}
	s.m[key] = memIdem{rec: rec, expires: now.Add(lease), size: size}
	s.bytes += size
	return IdempotencyRecord{}, true, nil
}

// Complete stores rec in place of token's reservation; a response that
// does not fit is dropped (rec is kept without it).
func (s *MemoryIdempotencyStore) Complete(_ context.Context, key, token string, rec IdempotencyRecord, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.get(key, now)
	if !ok || e.rec.Done || e.rec.Token != token {
		return ErrIdempotencyLeaseLost
	}
	s.drop(key)
	rec = cloneRecord(rec)
	rec.Token, rec.Done = "", true
	size := recordSize(key, rec)
	if !s.fits(size, now) {
		rec.Response = nil
		size = recordSize(key, rec)
	}
	s.m[key] = memIdem{rec: rec, expires: now.Add(ttl), size: size}
	s.bytes += size
	return nil
}

// Release deletes token's reservation.
func (s *MemoryIdempotencyStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.get(key, s.now()); ok && !e.rec.Done && e.rec.Token == token {
		s.drop(key)
	}
	return nil
}
