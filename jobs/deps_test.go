package jobs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreHasNoWebDeps keeps HTTP out of the core package: echo must not be
// among its dependencies, and net/http may only come in through prometheus'
// client library (which the metrics use), never through a package of this
// module. The web surfaces live in package jobshttp.
func TestCoreHasNoWebDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), gobin, "list", "-deps",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/gantry-dev/gantry/jobs").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkg := f[0]
		if strings.HasPrefix(pkg, "github.com/labstack/") {
			t.Errorf("jobs depends on %s", pkg)
		}
		for _, imp := range f[1:] {
			if imp != "net/http" {
				continue
			}
			if pkg != "expvar" && !strings.HasPrefix(pkg, "github.com/prometheus/") {
				t.Errorf("%s brings net/http into the jobs core", pkg)
			}
		}
	}
}
