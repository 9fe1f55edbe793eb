package sentryreport

import (
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
)

// parseStack turns a goroutine stack in runtime.Stack's text format (as
// runtime/debug.Stack writes it) into Sentry frames, the oldest call first
// as Sentry expects. Function arguments (raw words) are dropped; a
// truncated stack yields the frames it has. The frames of the recovery
// itself (from runtime/debug.Stack down to the panic call) are dropped, so
// the innermost frame is the one that panicked.
func parseStack(stack []byte) []sentry.Frame {
	var frames []sentry.Frame
	lines := strings.Split(string(stack), "\n")
	for i := 0; i < len(lines); i++ {
		fn := lines[i]
		if fn == "" || strings.HasPrefix(fn, "goroutine ") || strings.HasPrefix(fn, "\t") {
			continue
		}
		if after, ok := strings.CutPrefix(fn, "created by "); ok {
			fn, _, _ = strings.Cut(after, " in goroutine ")
		} else if j := strings.LastIndexByte(fn, '('); j > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:j]
		}
		if fn == "panic" { // runtime.gopanic: what came before is the recovery
			frames = frames[:0]
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
				i++
			}
			continue
		}
		var f runtime.Frame
		f.Function = fn
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			i++
			loc := strings.TrimPrefix(lines[i], "\t")
			if j := strings.LastIndex(loc, " +0x"); j >= 0 {
				loc = loc[:j]
			}
			if j := strings.LastIndexByte(loc, ':'); j >= 0 {
				if n, err := strconv.Atoi(loc[j+1:]); err == nil {
					f.File, f.Line = loc[:j], n
				}
			}
		}
		frames = append(frames, sentry.NewFrame(f))
	}
	slices.Reverse(frames)
	return frames
}
