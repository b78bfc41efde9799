package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binDir  string // the temporary dir of a binary built here, if any
	binPath string
	binErr  error
)

// Binary returns the wharf binary the tests run: $WHARF_BIN when set, else
// one built from this module once per test process (into a temporary dir
// that Main removes).
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := BinaryPath()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BinaryPath is Binary for a TestMain, which has no testing.TB.
func BinaryPath() (string, error) {
	binOnce.Do(func() {
		if binPath = os.Getenv("WHARF_BIN"); binPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "wharf-testserver-bin")
		if err != nil {
			binErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "wharf")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/wharfhq/wharf/cmd/wharf").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build wharf: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// Main runs the tests of a package that uses Binary, removes the binary
// built for them (if one was), and exits with their code. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
