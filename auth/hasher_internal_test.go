package auth

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHasherBoundBurst: 50 concurrent verifications with MaxConcurrent 2
// never compute more than 2 at once, and the 48 that find no slot within
// QueueWait fail with a RetryError wrapping ErrBusy (503). The computations
// that got a slot are held until the others have been answered, so the
// counts do not depend on timing.
func TestHasherBoundBurst(t *testing.T) {
	for _, algo := range []string{Bcrypt, Argon2id} {
		t.Run(algo, func(t *testing.T) {
			const n, bound = 50, 2
			h, err := NewHasher(HasherConfig{
				Algorithm: algo, BcryptCost: 4, Argon2: Argon2Params{Memory: 1024, Iterations: 1},
				MaxConcurrent: bound, QueueWait: 20 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			hash, err := h.Hash("pw")
			if err != nil {
				t.Fatal(err)
			}
			var busy, ok atomic.Int64
			hold := make(chan struct{})
			var cur, peak atomic.Int64
			h.onCompute = func(d int) {
				c := cur.Add(int64(d))
				for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
				}
				if d > 0 {
					select { // hold the slot until everyone else is answered
					case <-hold:
					case <-time.After(5 * time.Second):
					}
				}
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					var err error
					if i%2 == 0 {
						_, err = h.Verify("pw", hash)
					} else {
						err = h.DummyVerify("pw") // unknown accounts are bounded too
					}
					var re *RetryError
					switch {
					case err == nil:
						ok.Add(1)
					case errors.As(err, &re) && errors.Is(err, ErrBusy) && re.HTTPStatus() == 503 && re.RetryAfterSeconds() >= 1:
						if busy.Add(1) == n-bound {
							close(hold)
						}
					default:
						t.Errorf("verify = %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			t.Logf("%s: peak %d concurrent computations, %d answered, %d busy", algo, peak.Load(), ok.Load(), busy.Load())
			if p := peak.Load(); p > bound {
				t.Errorf("peak concurrent computations = %d; want at most %d", p, bound)
			}
			if b := busy.Load(); b != n-bound {
				t.Errorf("busy = %d; want %d", b, n-bound)
			}
			// once the burst is over, slots are free again
			if _, err := h.Verify("pw", hash); err != nil {
				t.Errorf("verify after the burst = %v", err)
			}
		})
	}
}
