package jobs

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestMemoryRegistryCollected: a MemoryBackend's records go when the
// backend is garbage collected.
func TestMemoryRegistryCollected(t *testing.T) {
	b := NewMemoryBackend()
	if err := b.putRecords(t.Context(), regWorkers, []regRecord{{id: "w", data: []byte("{}")}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	k := weak.Make(b)
	if _, ok := memRegistries.Load(k); !ok {
		t.Fatal("no registry for a backend with records")
	}
	b = nil
	for i := 0; ; i++ {
		runtime.GC()
		if _, ok := memRegistries.Load(k); !ok {
			return
		}
		if i == 50 {
			t.Fatal("registry of a collected backend still held after 50 GCs")
		}
		time.Sleep(time.Millisecond)
	}
}
