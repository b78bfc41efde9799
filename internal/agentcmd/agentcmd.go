// Package agentcmd is the agent command: its flags, its config file
// (/etc/wharf/agent.yaml), its drivers (docker, exec, fake) and its
// metrics listener. It is the one owner of those, shared by the two
// binaries that run an agent: `wharf agent` (cmd/wharf, through
// internal/cli) and the agent-only build `wharf-agent` (cmd/wharf-agent),
// which the server's /install.sh installs on hosts. It imports no server,
// CLI or compose code (scripts/import-rules.txt), so the agent-only build
// stays small: every package a binary links runs its init functions and
// faults its pages in, which is most of an idle agent's memory. For the
// same reason a running agent drops the pages of its binary it has
// touched from its mappings, 20 s after its start and every 10 minutes
// (pages.go): the code an idle agent runs comes back, the rest stays out.
package agentcmd

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Command is the agent command, named "agent" (cmd/wharf-agent renames it).
func Command() *cobra.Command { return newAgentCmd() }

// NewLogger is a text logger to stderr at level (debug, info, warn, error).
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// DefaultDataDir is $XDG_DATA_HOME/wharf/<name> (or ~/.local/share/...).
func DefaultDataDir(name string) string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "wharf-" + name
		}
		base = home + "/.local/share"
	}
	return base + "/wharf/" + name
}

// newLogger and defaultDataDir keep the moved agent files' calls as they
// were in internal/cli.
func newLogger(level string) (*slog.Logger, error) { return NewLogger(level) }
func defaultDataDir(name string) string            { return DefaultDataDir(name) }

// parseLabels reads --label k=v arguments (internal/cli reads node labels
// the same way; it cannot be imported from here, it links the server).
func parseLabels(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want key=value", a)
		}
		out[k] = v
	}
	return out, nil
}
