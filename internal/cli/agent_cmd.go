package cli

import (
	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/agentcmd"
)

// newAgentCmd is `wharf agent`: the command internal/agentcmd owns, which
// the agent-only build (cmd/wharf-agent) runs too.
func newAgentCmd() *cobra.Command { return agentcmd.Command() }
