package cli

import (
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/hello"
)

func newHelloCmd() *cobra.Command {
	var (
		addr     string
		say      string
		exitCode int
		probe    hello.ProbeOptions
	)
	cmd := &cobra.Command{
		Use:    "hello",
		Short:  "Serve a hello-world HTTP page naming this container and its node (a workload that needs no image)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if exitCode >= 0 {
				// A workload that exits at once with a known code, for
				// drivers' tests: the test image has no shell to do it.
				os.Exit(exitCode)
			}
			if probe.Get != "" || probe.Lookup != "" {
				probe.Out = cmd.OutOrStdout()
				return hello.Probe(cmd.Context(), probe)
			}
			if addr == "" {
				port := os.Getenv("PORT")
				if port == "" {
					port = "8080"
				}
				addr = net.JoinHostPort("", port)
			}
			return hello.Run(cmd.Context(), hello.Options{Addr: addr, Say: say})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default :$PORT, or :8080)")
	cmd.Flags().StringVar(&say, "say", "", "print this line once listening; it is the last line written")
	cmd.Flags().IntVar(&exitCode, "exit-code", -1, "exit at once with this code instead of serving")
	cmd.Flags().StringVar(&probe.Get, "get", "", "instead of serving, fetch this URL and print the answer (tests run it in containers)")
	cmd.Flags().StringVar(&probe.Lookup, "lookup", "", "instead of serving, resolve this name and print its addresses")
	cmd.Flags().DurationVar(&probe.Every, "every", 0, "with --get or --lookup: repeat at this interval, one line per attempt")
	cmd.Flags().IntVar(&probe.Count, "count", 0, "with --every: stop after this many attempts (0: never)")
	_ = cmd.Flags().MarkHidden("say")
	_ = cmd.Flags().MarkHidden("exit-code")
	return cmd
}
