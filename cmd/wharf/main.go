// Command wharf is Wharf's one binary: server, agent, local cluster and CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wharfhq/wharf/internal/cli"
)

func main() {
	cpuProfileOnSignals()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
