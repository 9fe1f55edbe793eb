package harness_test

import (
	"fmt"

	"github.com/gantry-dev/gantry/bench/internal/harness"
)

// Per-round times of a peer and of ours, measured interleaved: the ratio
// reported is the median of the rounds' ratios.
func ExampleMedianRatio() {
	peer := []float64{100, 140, 110}
	ours := []float64{80, 119, 99}
	fmt.Printf("ours %.0f ns, peer %.0f ns, ours/peer %.2f×\n",
		harness.Median(ours), harness.Median(peer), harness.MedianRatio(ours, peer))
	// Output: ours 99 ns, peer 110 ns, ours/peer 0.85×
}
