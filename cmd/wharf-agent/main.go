// Command wharf-agent is the agent alone: `wharf agent` without the
// server, the CLI and the rest of the one wharf binary. The server's
// /install.sh installs it on hosts (docs/install.md). It takes the flags
// of `wharf agent`, which internal/agentcmd owns for both binaries, and a
// leading "agent" is allowed, so a command line written for the full
// binary (`wharf agent --config ...`) runs with either.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wharfhq/wharf/internal/agentcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "agent" {
		args = args[1:]
	}
	cmd := agentcmd.Command()
	cmd.Use = "wharf-agent [agent] --server URL --token-file PATH"
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wharf-agent:", err)
		os.Exit(1)
	}
}
