package jobs_test

import (
	"testing"

	"github.com/gantry-dev/gantry/jobs"
)

func TestMemoryBackend(t *testing.T) {
	t.Parallel()
	runSuite(t, func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() })
}
