package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/agentcmd"
)

// newAgentCmd is `wharf agent`: the command internal/agentcmd owns, which
// the agent-only build (cmd/wharf-agent) runs too.
func newAgentCmd() *cobra.Command { return agentcmd.Command() }

// newLogger is the components' logger (agentcmd.NewLogger).
func newLogger(level string) (*slog.Logger, error) { return agentcmd.NewLogger(level) }

// defaultDataDir is $XDG_DATA_HOME/wharf/<name> (or ~/.local/share/...).
func defaultDataDir(name string) string { return agentcmd.DefaultDataDir(name) }
