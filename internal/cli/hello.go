package cli

import (
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/hello"
)

func newHelloCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:    "hello",
		Short:  "Serve a hello-world HTTP page naming this container and its node (a workload that needs no image)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				port := os.Getenv("PORT")
				if port == "" {
					port = "8080"
				}
				addr = net.JoinHostPort("", port)
			}
			return hello.Serve(cmd.Context(), addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default :$PORT, or :8080)")
	return cmd
}
