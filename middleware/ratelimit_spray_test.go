package middleware_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/middleware"
)

// TestMemoryStoreSprayCannotResetVictim: a client sending 100,000
// distinct keys at once (8 goroutines released together) fills the store
// but cannot evict a victim's exhausted counter, and the store stays
// within its cap.
func TestMemoryStoreSprayCannotResetVictim(t *testing.T) {
	t.Parallel()
	for _, maxKeys := range []int{1024, 0} { // 0: the default 100,000
		t.Run("MaxKeys="+strconv.Itoa(maxKeys), func(t *testing.T) {
			st := middleware.NewMemoryStore(middleware.MemoryStoreConfig{MaxKeys: maxKeys})
			lim := middleware.Limit{Rate: 5, Period: time.Hour}
			for range 5 {
				if r, _ := st.Allow(t.Context(), "victim", lim); !r.Allowed {
					t.Fatal("victim refused within its quota")
				}
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			const sprayers, perSprayer = 8, 12_500
			for g := range sprayers {
				wg.Go(func() {
					<-start
					for i := range perSprayer {
						_, _ = st.Allow(t.Context(), "spray-"+strconv.Itoa(g*perSprayer+i), lim)
					}
				})
			}
			close(start)
			wg.Wait()
			admitted := 0
			for range 5 {
				if r, _ := st.Allow(t.Context(), "victim", lim); r.Allowed {
					admitted++
				}
			}
			if admitted != 0 {
				t.Errorf("after a 100,000-key spray the exhausted victim got %d more requests; want 0", admitted)
			}
			limit := maxKeys
			if limit == 0 {
				limit = 100_000
			}
			if n := st.Len(); n > limit {
				t.Errorf("Len after the spray = %d; want <= %d", n, limit)
			}
		})
	}
}
