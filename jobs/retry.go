package jobs

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy returns how long to wait before the next attempt of a job
// whose attempt-th attempt (1-based) failed with err.
type RetryPolicy func(attempt int, err error) time.Duration

// ExponentialBackoff returns a RetryPolicy waiting base·2^(attempt-1), capped
// at max, with full jitter in [d/2, d) so retries of many jobs spread out.
func ExponentialBackoff(base, max time.Duration) RetryPolicy {
	return func(attempt int, _ error) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		if d <= 1 {
			return d
		}
		return d/2 + rand.N(d/2)
	}
}
