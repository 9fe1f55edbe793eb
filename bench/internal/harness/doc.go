// Package harness holds the few helpers the benchmark commands under bench/
// share: timing a call with its allocations, medians and per-round ratios,
// interleaving variants in short slices, a ResponseWriter that keeps
// nothing, a goroutine throughput loop and a go-redis hook counting round
// trips. It is plain functions, not a framework: each command still builds
// its own variants, loops where its order is special, and prints its own
// table.
//
// # Timing
//
// [Measure] calibrates a call count to fill a slice and reports nanoseconds
// and heap allocations per call; [Interleave] measures several calls in turn,
// round after round (A B C A B C …), so that a drift of the machine's speed
// touches every variant alike; [Median] and [MedianRatio] reduce the rounds.
// [Throughput] runs a call from several goroutines for a fixed time.
//
// # HTTP and Redis
//
// [Serve] turns a handler and a request built once into a call for
// [Measure], writing to a [DiscardResponseWriter]. [RoundTripCounter] is a
// redis.Hook counting client round trips (a pipeline is one).
package harness
