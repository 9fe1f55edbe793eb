package apierror_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaf keeps the package a leaf every other package can import: its
// dependencies are the standard library only, and not net/http (package
// jobs imports it and keeps net/http out of its core).
func TestLeaf(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), gobin, "list", "-deps",
		"-f", `{{.ImportPath}} {{.Standard}}`, "github.com/gantry-dev/gantry/apierror").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		pkg, std, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch {
		case pkg == "github.com/gantry-dev/gantry/apierror":
		case std != "true":
			t.Errorf("apierror depends on %s, outside the standard library", pkg)
		case pkg == "net/http":
			t.Errorf("apierror depends on net/http")
		}
	}
}
