// Package flood sends a live `wharf server` child process a flood of
// malformed and oversized requests on every route (random bytes, truncated
// and deeply nested JSON, huge strings, wrong types, unknown fields, bodies
// over the limit, bad paths, queries, If-Match and auth, unknown methods)
// and checks that none gets a 5xx, the server survives, and its heap comes
// back near where it started. It builds the binary itself unless WHARF_BIN
// names one.
//
// The short form sends 10,000 requests; WHARF_FLOOD_N=100000 sends more.
package flood

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
	dir, err := os.MkdirTemp("", "wharf-flood-bin")
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
