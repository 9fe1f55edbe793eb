package jobs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreHasNoWebDeps keeps HTTP and Prometheus out of the core package:
// neither echo, nor net/http, nor prometheus' client library may be among
// its dependencies. The web surfaces live in package jobshttp, the
// Prometheus metrics in package jobsmetrics.
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
	var n int
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		n++
		pkg := f[0]
		for _, banned := range []string{"github.com/labstack", "github.com/prometheus", "net/http"} {
			if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
				t.Errorf("jobs depends on %s (imported by %s)", pkg, importers(out, pkg))
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list -deps gave %d packages; want the core's whole graph\n%s", n, out)
	}
}

// importers lists the packages of a go list -deps output that import pkg.
func importers(out []byte, pkg string) string {
	var by []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == pkg {
				by = append(by, f[0])
			}
		}
	}
	return strings.Join(by, ", ")
}
