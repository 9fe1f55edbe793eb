package jobs

import (
	"strings"
	"testing"
)

// FuzzStepID holds the workflow step id parser to its contract on any text
// (ids reach it from URLs): what it accepts is exactly what stepID makes,
// and JobID refuses every such id outside a workflow.
func FuzzStepID(f *testing.F) {
	for _, s := range []string{"0123456789abcdefghij.0", "0123456789abcdefghij.12", "0123456789abcdefghij.01",
		"0123456789abcdefghiJ.1", "0123456789abcdefghij.", ".1", "abc.1", "0123456789abcdefghijk.1",
		"0123456789abcdefghij.99999", "0123456789abcdefghij.100000", "0123456789abcdefghij.-1", "0123456789abcdefghij.1.2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		wf, step, ok := parseStepID(id)
		if !ok {
			if wf != "" || step != 0 {
				t.Fatalf("parseStepID(%q) refused but returned %q, %d", id, wf, step)
			}
			return
		}
		if got := stepID(wf, step); got != id {
			t.Fatalf("parseStepID(%q) = %q, %d; stepID gives back %q", id, wf, step, got)
		}
		if len(wf) != 20 || step < 0 || strings.ContainsAny(wf, ".ABCDEFGHIJKLMNOPQRSTUVWXYZwxyz") {
			t.Fatalf("parseStepID(%q) accepted %q, %d", id, wf, step)
		}
		if err := checkID(id, false); err == nil {
			t.Fatalf("checkID(%q) accepted a step id outside a workflow", id)
		}
		if err := checkID(id, true); err != nil {
			t.Fatalf("checkID(%q, step) = %v", id, err)
		}
	})
}
