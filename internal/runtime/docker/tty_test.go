package docker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
)

// TestContainerConfigTTY: a spec's terminal and open input become the
// engine's Tty, OpenStdin and StdinOnce; a spec without them makes
// neither, and marshals (so hashes) as it did before they existed.
func TestContainerConfigTTY(t *testing.T) {
	cfg, _, err := containerConfig(runtime.Spec{ID: "c1", Image: "img", TTY: true, Interactive: true}, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Tty || !cfg.OpenStdin || !cfg.StdinOnce || !cfg.AttachStdin {
		t.Errorf("tty and interactive: got Tty %v OpenStdin %v StdinOnce %v AttachStdin %v, want all", cfg.Tty, cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin)
	}
	plain := runtime.Spec{ID: "c1", Image: "img"}
	cfg, _, err = containerConfig(plain, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tty || cfg.OpenStdin || cfg.StdinOnce {
		t.Errorf("a plain spec got a terminal or an input: %+v", cfg)
	}
	b, _ := json.Marshal(plain)
	if strings.Contains(string(b), "TTY") || strings.Contains(string(b), "Interactive") {
		t.Errorf("a plain spec marshals with the new fields (its hash would change): %s", b)
	}
}
