// Package history checks that compare-and-swap updates of services, made
// by concurrent clients through the API of a real `wharf server` process
// that is killed with SIGKILL and restarted while they run, form a
// linearizable history (checked with porcupine, as etcd's robustness suite
// checks etcd). It builds the binary itself unless WHARF_BIN names one.
//
// WHARF_HISTORY_LONG=1 runs for minutes instead of seconds.
package history

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var wharfBin string

func TestMain(m *testing.M) {
	wharfBin = os.Getenv("WHARF_BIN")
	if wharfBin != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wharf-history-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wharfBin = filepath.Join(dir, "wharf")
	if out, err := exec.Command("go", "build", "-o", wharfBin, "github.com/wharfhq/wharf/cmd/wharf").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wharf: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
