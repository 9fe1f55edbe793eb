package jobscli_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsJobsAndStdlibOnly keeps the command line light enough for any
// service's binary: package jobscli imports package jobs and the standard
// library, and nothing of the web (echo, net/http) comes in through them.
func TestImportsJobsAndStdlibOnly(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	const self = "github.com/gantry-dev/gantry/jobs/jobscli"
	out, err := exec.CommandContext(t.Context(), gobin, "list", "-f", `{{join .Imports "\n"}}`, self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var sawJobs bool
	for imp := range strings.Lines(string(out)) {
		imp = strings.TrimSpace(imp)
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case imp == "github.com/gantry-dev/gantry/jobs":
			sawJobs = true
		case strings.Contains(first, "."):
			t.Errorf("jobscli imports %s; want package jobs and the standard library only", imp)
		}
	}
	if !sawJobs {
		t.Fatalf("go list found no import of package jobs:\n%s", out)
	}
	deps, err := exec.CommandContext(t.Context(), gobin, "list", "-deps", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, deps)
	}
	for dep := range strings.Lines(string(deps)) {
		dep = strings.TrimSpace(dep)
		if dep == "net/http" || strings.HasPrefix(dep, "github.com/labstack/") {
			t.Errorf("jobscli depends on %s", dep)
		}
	}
}
