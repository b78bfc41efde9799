package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the command tree")

// TestCLIDocs fails when docs/cli.md is not what the command tree
// generates: run `go test ./internal/cli -run TestCLIDocs -update-docs`.
func TestCLIDocs(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDocs(&b, NewRoot()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "cli.md")
	if *updateDocs {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with go test ./internal/cli -run TestCLIDocs -update-docs", err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("docs/cli.md is stale: regenerate it with go test ./internal/cli -run TestCLIDocs -update-docs")
	}
}
