package jobs

import (
	"context"
	"time"
)

// memWorkflow is a workflow on the memory backend.
type memWorkflow struct {
	h       wfHash
	expires time.Time // zero while running
}

// wf returns a workflow that is not past its retention. b.mu is held.
func (b *MemoryBackend) wf(id string, now time.Time) *memWorkflow {
	w := b.wfs[id]
	if w == nil {
		return nil
	}
	if !w.expires.IsZero() && !w.expires.After(now) {
		delete(b.wfs, id)
		return nil
	}
	return w
}

func (b *MemoryBackend) createWorkflow(_ context.Context, w *wfDef) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now := time.Now(); now.Sub(b.swept) > time.Minute {
		b.swept = now
		for id := range b.wfs {
			b.wf(id, now) // drops the expired
		}
	}
	b.wfs[w.id] = &memWorkflow{h: newWFHash(w.fields())}
	return nil
}

func (b *MemoryBackend) stepDone(_ context.Context, wf string, step int, out stepOutcome, now time.Time) ([]release, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.wf(wf, time.Now())
	if w == nil {
		return nil, nil
	}
	rs, ended, _ := w.h.stepDone(step, out, now)
	if ended {
		m, _ := w.h.meta()
		w.expires = time.Now().Add(m.retention)
	}
	return rs, nil
}

func (b *MemoryBackend) stepInputs(_ context.Context, wf string, step int) ([]StepResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.wf(wf, time.Now())
	if w == nil {
		return nil, ErrNotFound
	}
	return w.h.inputs(wf, step), nil
}

func (b *MemoryBackend) workflow(_ context.Context, id string) (*WorkflowInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.wf(id, time.Now())
	if w == nil {
		return nil, ErrNotFound
	}
	wi, ok := w.h.info(id)
	if !ok {
		return nil, ErrNotFound
	}
	return wi, nil
}

func (b *MemoryBackend) cancelWorkflow(_ context.Context, id string, now time.Time) ([]release, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.wf(id, time.Now())
	if w == nil {
		return nil, ErrNotFound
	}
	rs, ok := w.h.cancel(now)
	if !ok {
		return nil, ErrFinished
	}
	m, _ := w.h.meta()
	w.expires = time.Now().Add(m.retention)
	return rs, nil
}
