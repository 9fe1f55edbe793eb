package crud

import (
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// TestRegisteredDriver: Open finds the drivers the program imported, and
// names the package to import for one it did not.
func TestRegisteredDriver(t *testing.T) {
	if d, err := registered("sqlite"); err != nil || d == nil {
		t.Fatalf("registered(sqlite) = %v, %v; want the driver", d, err)
	}
	driverImports["nosuch"] = "example.com/nosuch"
	defer delete(driverImports, "nosuch")
	_, err := registered("nosuch")
	if err == nil || !strings.Contains(err.Error(), `import _ "example.com/nosuch"`) {
		t.Fatalf("registered(nosuch) = %v; want an error naming the package to import", err)
	}
}
