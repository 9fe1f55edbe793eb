package auth

import (
	"context"
	"sync"
	"time"
)

// Store keeps revocation state: revoked token ids, revoked refresh
// families, consumed refresh tokens and per-subject not-before times. It
// never stores tokens themselves. [MemoryStore] serves one process and
// tests; [RedisStore] serves many instances.
//
// Ids and families are scoped to their subject. Every record lives for
// the TTL it was written with and then stops counting; writing a record
// again never shortens it. Every method is safe for concurrent use. Check
// and Consume return nil, [ErrTokenRevoked] or [ErrRefreshReused] for a
// decision, and any other error when the store cannot answer (the caller
// then fails closed with [ErrStoreUnavailable]).
//
// authtest.RunStoreTests is the conformance suite every implementation
// passes.
type Store interface {
	// Check returns ErrTokenRevoked when ref.ID or ref.Family is revoked or
	// ref.IssuedAt is before ref.Subject's not-before time. It is called on
	// every authenticated request and must cost one round trip at most.
	Check(ctx context.Context, ref TokenRef) error
	// Consume marks the refresh token ref.ID used, atomically. It returns
	// ErrTokenRevoked as Check would, or ErrRefreshReused when ref.ID was
	// already consumed, in which case it also revokes ref.Family (when set)
	// for ref.FamilyTTL. Of concurrent calls with one ref, one succeeds.
	Consume(ctx context.Context, ref TokenRef) error
	// Revoke revokes ref.ID (when set) for ref.TTL and ref.Family (when
	// set) for ref.FamilyTTL.
	Revoke(ctx context.Context, ref TokenRef) error
	// RevokeSubject revokes every token of subject issued before notBefore;
	// the record lives for ttl (the longest token lifetime). A not-before
	// time is never lowered.
	RevokeSubject(ctx context.Context, subject string, notBefore time.Time, ttl time.Duration) error
}

// TokenRef names a token to a [Store]: who it belongs to, its id, its
// refresh family, when it was issued, and how long records about it must
// live (its remaining lifetime plus the leeway).
type TokenRef struct {
	Subject   string
	ID        string
	Family    string
	IssuedAt  time.Time
	TTL       time.Duration // lifetime of a record about ID
	FamilyTTL time.Duration // lifetime of a record about Family
}

// MemoryStore is a [Store] in process memory, for a single instance and
// for tests. The zero value is ready to use; records stop counting when
// they expire and are swept as new ones are written. It is safe for
// concurrent use.
type MemoryStore struct {
	// Now is the clock used to expire records; nil means time.Now.
	Now func() time.Time

	mu        sync.RWMutex
	revoked   map[memKey]time.Time // token id -> record expiry
	consumed  map[memKey]time.Time // refresh token id -> record expiry
	families  map[memKey]time.Time // family -> record expiry
	notBefore map[string]memNBF    // subject -> not-before
	lastSweep time.Time
}

// memKey scopes a token id or a family to its subject, as the Redis
// store's keys are.
type memKey struct{ subject, id string }

type memNBF struct{ at, expires time.Time }

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func (m *MemoryStore) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// live reports whether mm holds an unexpired record for k.
func live(mm map[memKey]time.Time, k memKey, now time.Time) bool {
	exp, ok := mm[k]
	return ok && !now.After(exp)
}

// check is Check with m.mu held.
func (m *MemoryStore) check(ref TokenRef, now time.Time) error {
	if live(m.revoked, memKey{ref.Subject, ref.ID}, now) {
		return ErrTokenRevoked
	}
	if ref.Family != "" && live(m.families, memKey{ref.Subject, ref.Family}, now) {
		return ErrTokenRevoked
	}
	if nbf, ok := m.notBefore[ref.Subject]; ok && !now.After(nbf.expires) && ref.IssuedAt.Before(nbf.at) {
		return ErrTokenRevoked
	}
	return nil
}

// Check implements [Store]. It never fails for lack of service.
func (m *MemoryStore) Check(_ context.Context, ref TokenRef) error {
	now := m.now()
	m.mu.RLock()
	err := m.check(ref, now)
	m.mu.RUnlock()
	return err
}

// Consume implements [Store].
func (m *MemoryStore) Consume(_ context.Context, ref TokenRef) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ref, now); err != nil {
		return err
	}
	m.sweep(now)
	if live(m.consumed, memKey{ref.Subject, ref.ID}, now) {
		if ref.Family != "" {
			m.families = put(m.families, memKey{ref.Subject, ref.Family}, now.Add(ref.FamilyTTL))
		}
		return ErrRefreshReused
	}
	m.consumed = put(m.consumed, memKey{ref.Subject, ref.ID}, now.Add(ref.TTL))
	return nil
}

// Revoke implements [Store].
func (m *MemoryStore) Revoke(_ context.Context, ref TokenRef) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if ref.ID != "" {
		m.revoked = put(m.revoked, memKey{ref.Subject, ref.ID}, now.Add(ref.TTL))
	}
	if ref.Family != "" {
		m.families = put(m.families, memKey{ref.Subject, ref.Family}, now.Add(ref.FamilyTTL))
	}
	return nil
}

// RevokeSubject implements [Store].
func (m *MemoryStore) RevokeSubject(_ context.Context, subject string, notBefore time.Time, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if m.notBefore == nil {
		m.notBefore = make(map[string]memNBF)
	}
	rec := memNBF{at: notBefore, expires: now.Add(ttl)}
	if old, ok := m.notBefore[subject]; ok && !now.After(old.expires) {
		// never lower the cut-off, never shorten the record
		if old.at.After(rec.at) {
			rec.at = old.at
		}
		if old.expires.After(rec.expires) {
			rec.expires = old.expires
		}
	}
	m.notBefore[subject] = rec
	return nil
}

// Len returns the number of records held, expired ones not yet swept
// included, for tests and metrics.
func (m *MemoryStore) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.revoked) + len(m.consumed) + len(m.families) + len(m.notBefore)
}

// put records k until exp, keeping a later expiry already recorded.
func put(m map[memKey]time.Time, k memKey, exp time.Time) map[memKey]time.Time {
	if m == nil {
		m = make(map[memKey]time.Time)
	}
	if old, ok := m[k]; !ok || exp.After(old) {
		m[k] = exp
	}
	return m
}

// sweep drops expired records, at most once a minute; m.mu is held.
func (m *MemoryStore) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute && !now.Before(m.lastSweep) {
		return
	}
	m.lastSweep = now
	for _, mm := range []map[memKey]time.Time{m.revoked, m.consumed, m.families} {
		for k, exp := range mm {
			if now.After(exp) {
				delete(mm, k)
			}
		}
	}
	for k, v := range m.notBefore {
		if now.After(v.expires) {
			delete(m.notBefore, k)
		}
	}
}
