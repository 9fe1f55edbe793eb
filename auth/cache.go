package auth

import (
	"hash/maphash"
	"sync"
	"time"
)

// cachedToken is a verified access token: its claims, the principal built
// from them, and its store reference. All of it is read-only once cached.
type cachedToken struct {
	claims    Claims
	principal Principal
	ref       TokenRef
	deadline  time.Time // ExpiresAt + leeway: never used after this
}

const cacheShards = 16

// tokenCache is a bounded map from raw token to verified token. A hit
// still has its expiry checked by the caller and its revocation checked
// against the store: the cache saves the signature check and the decoding,
// nothing else.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cachedToken
	_  [40]byte // keep shards on separate cache lines
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedToken)
	}
	return c
}

func (c *tokenCache) shard(raw string) *cacheShard {
	return &c.shards[maphash.String(c.seed, raw)%cacheShards]
}

func (c *tokenCache) get(raw string) *cachedToken {
	s := c.shard(raw)
	s.mu.RLock()
	e := s.m[raw]
	s.mu.RUnlock()
	return e
}

func (c *tokenCache) put(raw string, e *cachedToken, now time.Time) {
	s := c.shard(raw)
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		// Drop expired entries, then arbitrary ones (map order is random)
		// until there is room; a few at a time to keep inserts cheap.
		n := 0
		for k, v := range s.m {
			if now.After(v.deadline) || n < 4 {
				delete(s.m, k)
				n++
			}
			if n >= 16 {
				break
			}
		}
	}
	s.m[raw] = e
	s.mu.Unlock()
}

func (c *tokenCache) remove(raw string) {
	s := c.shard(raw)
	s.mu.Lock()
	delete(s.m, raw)
	s.mu.Unlock()
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
