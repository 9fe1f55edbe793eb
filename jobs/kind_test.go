package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/jobs"
)

type sepKindArgs struct{}

func (sepKindArgs) Kind() string { return "bad\x1fkind" }

type emptyKindArgs struct{}

func (emptyKindArgs) Kind() string { return "" }

// A kind that cannot be stored is refused where it enters: at enqueue and at
// worker registration, never as a corrupt message that dies later.
func TestKindRefused(t *testing.T) {
	c, err := jobs.NewClient(jobs.NewMemoryBackend(), jobs.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []jobs.Args{sepKindArgs{}, emptyKindArgs{}} {
		if _, err := c.Enqueue(t.Context(), args); err == nil || !strings.Contains(err.Error(), "kind") {
			t.Errorf("Enqueue(%T) = %v; want an error naming the kind", args, err)
		}
	}
	ws := jobs.NewWorkers()
	noop := jobs.WorkerFunc[sepKindArgs](func(context.Context, *jobs.Job[sepKindArgs]) error { return nil })
	if err := jobs.AddWorkerSafely(ws, noop); err == nil {
		t.Errorf("AddWorkerSafely(kind with 0x1f) = nil; want an error")
	}
}
