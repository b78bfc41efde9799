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
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wharfhq/wharf/internal/agentcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the agent command with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "agent" {
		args = args[1:]
	}
	cmd := agentcmd.Command()
	cmd.Use = "wharf-agent [agent] --server URL --token-file PATH"
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "wharf-agent:", err)
		return 1
	}
	return 0
}
