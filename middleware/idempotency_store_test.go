package middleware_test

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

// idemStores returns one store of each kind, isolated for the test.
func idemStores(t *testing.T) []struct {
	name  string
	store middleware.IdempotencyStore
} {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	rs, err := middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name  string
		store middleware.IdempotencyStore
	}{
		{"memory", middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{})},
		{"redis", rs},
	}
}

// allBytes is a body holding every byte value, to check byte-for-byte
// storage.
func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestIdempotencyStoreConformance runs one behavioural suite against the
// memory and Redis stores.
func TestIdempotencyStoreConformance(t *testing.T) {
	t.Parallel()
	resp := &middleware.IdempotentResponse{
		Status: http.StatusCreated,
		Header: http.Header{"Content-Type": {"application/octet-stream"}, "Location": {"/orders/1"}, "X-Multi": {"a", "b"}},
		Body:   allBytes(),
	}
	done := middleware.IdempotencyRecord{Fingerprint: "fp1", Done: true, Response: resp}
	const lease, ttl = time.Minute, time.Hour
	tests := []struct {
		name string
		run  func(t *testing.T, s middleware.IdempotencyStore, key string)
	}{
		{"reserve once", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			if _, ok, err := s.Reserve(t.Context(), key, "fp1", "tok1", lease); !ok || err != nil {
				t.Fatalf("first Reserve = %v, %v; want true, nil", ok, err)
			}
			rec, ok, err := s.Reserve(t.Context(), key, "fp2", "tok2", lease)
			if ok || err != nil || rec.Done || rec.Fingerprint != "fp1" || rec.Response != nil {
				t.Fatalf("second Reserve = %+v, %v, %v; want the in-flight record of fp1, false", rec, ok, err)
			}
		}},
		{"complete then replay byte for byte", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Complete(t.Context(), key, "tok1", done, ttl); err != nil {
				t.Fatalf("Complete = %v", err)
			}
			rec, ok, err := s.Reserve(t.Context(), key, "fp1", "tok2", lease)
			if ok || err != nil || !rec.Done || rec.Response == nil {
				t.Fatalf("Reserve after Complete = %+v, %v, %v; want the done record", rec, ok, err)
			}
			got := rec.Response
			if got.Status != resp.Status || !bytes.Equal(got.Body, resp.Body) || got.Header.Get("Location") != "/orders/1" || len(got.Header["X-Multi"]) != 2 {
				t.Fatalf("stored response = %d %v %d bytes; want %d %v %d bytes", got.Status, got.Header, len(got.Body), resp.Status, resp.Header, len(resp.Body))
			}
		}},
		{"complete without response (not stored)", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Complete(t.Context(), key, "tok1", middleware.IdempotencyRecord{Fingerprint: "fp1", Done: true}, ttl); err != nil {
				t.Fatal(err)
			}
			rec, ok, err := s.Reserve(t.Context(), key, "fp1", "tok2", lease)
			if ok || err != nil || !rec.Done || rec.Response != nil {
				t.Fatalf("Reserve = %+v, %v, %v; want done without response", rec, ok, err)
			}
		}},
		{"complete with another token", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Complete(t.Context(), key, "tok2", done, ttl); !errors.Is(err, middleware.ErrIdempotencyLeaseLost) {
				t.Fatalf("Complete(other token) = %v; want ErrIdempotencyLeaseLost", err)
			}
		}},
		{"complete of an unknown key", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			if err := s.Complete(t.Context(), key, "tok1", done, ttl); !errors.Is(err, middleware.ErrIdempotencyLeaseLost) {
				t.Fatalf("Complete(unknown) = %v; want ErrIdempotencyLeaseLost", err)
			}
		}},
		{"release frees the key", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Release(t.Context(), key, "tok1"); err != nil {
				t.Fatal(err)
			}
			mustReserve(t, s, key, "fp2", "tok2", lease)
		}},
		{"release with another token keeps it", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Release(t.Context(), key, "tok2"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Reserve(t.Context(), key, "fp1", "tok3", lease); ok {
				t.Fatal("Release with a foreign token freed the key")
			}
		}},
		{"release after complete keeps the record", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Complete(t.Context(), key, "tok1", done, ttl); err != nil {
				t.Fatal(err)
			}
			if err := s.Release(t.Context(), key, "tok1"); err != nil {
				t.Fatal(err)
			}
			if rec, ok, _ := s.Reserve(t.Context(), key, "fp1", "tok2", lease); ok || !rec.Done {
				t.Fatalf("Reserve after Release of a done key = %+v, %v; want the done record", rec, ok)
			}
		}},
		{"lease expires", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", 50*time.Millisecond)
			time.Sleep(150 * time.Millisecond)
			mustReserve(t, s, key, "fp1", "tok2", lease)
			if err := s.Complete(t.Context(), key, "tok1", done, ttl); !errors.Is(err, middleware.ErrIdempotencyLeaseLost) {
				t.Fatalf("Complete by the expired reservation = %v; want ErrIdempotencyLeaseLost", err)
			}
		}},
		{"record expires after ttl", func(t *testing.T, s middleware.IdempotencyStore, key string) {
			mustReserve(t, s, key, "fp1", "tok1", lease)
			if err := s.Complete(t.Context(), key, "tok1", done, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(150 * time.Millisecond)
			mustReserve(t, s, key, "fp1", "tok2", lease)
		}},
	}
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.run(t, st.store, testenv.Name("k"))
				})
			}
		})
	}
}

func mustReserve(t *testing.T, s middleware.IdempotencyStore, key, fp, token string, lease time.Duration) {
	t.Helper()
	if rec, ok, err := s.Reserve(t.Context(), key, fp, token, lease); !ok || err != nil {
		t.Fatalf("Reserve(%s) = %+v, %v, %v; want reserved", key, rec, ok, err)
	}
}

// TestRedisIdempotencyKeysExpire: every key the Redis store writes has
// an expiry, the lease while in flight and the TTL once done.
func TestRedisIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	s, err := middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	mustReserve(t, s, "k", "fp", "tok", 30*time.Second)
	if ttl := rdb.PTTL(t.Context(), prefix+"k").Val(); ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("PTTL of a reservation = %s; want (0, 30s]", ttl)
	}
	if err := s.Complete(t.Context(), "k", "tok", middleware.IdempotencyRecord{Fingerprint: "fp", Done: true}, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(t.Context(), prefix+"k").Val(); ttl <= time.Hour || ttl > 2*time.Hour {
		t.Fatalf("PTTL of a done record = %s; want (1h, 2h]", ttl)
	}
}

// TestMemoryIdempotencyStoreBounded: a response that does not fit
// MaxBytes is dropped (the record stays, without it), and a reservation
// that does not fit fails with ErrIdempotencyStoreFull until records expire.
func TestMemoryIdempotencyStoreBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	s := middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{MaxBytes: 1000, Now: func() time.Time { return now }})
	mustReserve(t, s, "a", "fp", "t1", time.Minute)
	big := middleware.IdempotencyRecord{Fingerprint: "fp", Done: true, Response: &middleware.IdempotentResponse{Status: 200, Body: make([]byte, 2000)}}
	if err := s.Complete(t.Context(), "a", "t1", big, time.Hour); err != nil {
		t.Fatal(err)
	}
	if rec, ok, _ := s.Reserve(t.Context(), "a", "fp", "t2", time.Minute); ok || !rec.Done || rec.Response != nil {
		t.Fatalf("Reserve(a) = %+v, %v; want done without the oversized response", rec, ok)
	}
	n := 1
	for ; n < 10; n++ {
		if _, _, err := s.Reserve(t.Context(), string(rune('a'+n)), "fp", "t", time.Minute); errors.Is(err, middleware.ErrIdempotencyStoreFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n == 10 {
		t.Fatal("10 reservations of ~200 bytes fit in 1000 bytes")
	}
	now = now.Add(2 * time.Hour) // all expired: swept on the next Reserve
	mustReserve(t, s, "z", "fp", "t", time.Minute)
}
