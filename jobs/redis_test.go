package jobs_test

import (
	"testing"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

func newRedisBackend(t *testing.T) jobs.Backend {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedisBackend: %v", err)
	}
	return b
}

func TestRedisBackend(t *testing.T) {
	t.Parallel()
	runSuite(t, newRedisBackend)
}
