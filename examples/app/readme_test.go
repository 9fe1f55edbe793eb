package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
)

var update = flag.Bool("update", false, "rewrite the settings table in README.md")

const (
	tableStart = "<!-- settings table: go test -C examples/app -run TestReadmeSettings -update -->\n"
	tableEnd   = "<!-- end of settings table -->"
)

// TestReadmeSettings keeps the README's table of every setting (Gantry's
// and the example app's) equal to what the code declares.
func TestReadmeSettings(t *testing.T) {
	var want bytes.Buffer
	if err := config.WriteMarkdown(&want, &settings{}); err != nil {
		t.Fatal(err)
	}
	// The table lives in Gantry's README, two levels up. A service copied
	// from this folder has no such README and nothing to keep in step.
	if mod, err := os.ReadFile("../../go.mod"); err != nil || !bytes.HasPrefix(mod, []byte("module github.com/gantry-dev/gantry\n")) {
		t.Skip("not inside the Gantry checkout: no README settings table to check")
	}
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the settings table markers")
	}
	got := readme[i+len(tableStart) : j]
	if got == want.String() {
		return
	}
	if !*update {
		t.Fatalf("README.md's settings table is stale; run: go test -C examples/app -run TestReadmeSettings -update")
	}
	out := readme[:i+len(tableStart)] + want.String() + readme[j:]
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
