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
			return
		}
		// The agent-only build beside it, as make build puts it: the
		// server serves it to /install.sh.
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "wharf-agent"), "github.com/wharfhq/wharf/cmd/wharf-agent").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build wharf-agent: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// AgentBinaryPath is the agent-only build beside the wharf binary
// (bin/wharf-agent after make build), which the server serves to
// /install.sh; an error says how to build it when it is not there.
func AgentBinaryPath() (string, error) {
	bin, err := BinaryPath()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(bin), "wharf-agent")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no wharf-agent beside %s, which the server would serve to /install.sh: `make build` builds both (%w)", bin, err)
	}
	return p, nil
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
