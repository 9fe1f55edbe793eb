package auth

import (
	"strconv"
	"testing"
	"time"
)

func TestTokenCacheBound(t *testing.T) {
	c := newTokenCache(64)
	now := time.Now()
	for i := range 10000 {
		c.put("tok"+strconv.Itoa(i), &cachedToken{deadline: now.Add(time.Hour)}, now)
	}
	if n := c.len(); n > 64+cacheShards {
		t.Errorf("cache len = %d; want at most %d", n, 64+cacheShards)
	}
	c.put("x", &cachedToken{deadline: now.Add(time.Hour)}, now)
	if c.get("x") == nil {
		t.Error("just inserted entry missing")
	}
}
