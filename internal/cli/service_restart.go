package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// serviceRestart is `wharf service restart`: every container of each
// service runs again, one slot at a time, each stopped before it starts.
func serviceRestart(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "restart SERVICE...",
		Short: "Restart every container of services, one at a time (stop first)",
		Long: `Restart replaces each container of the service with a new run, one slot at a
time: a slot's container is stopped and removed, then started again (on the
same node when it still fits) before the next slot goes. Slots that
autodestroy emptied run again. Follow it with 'wharf events' or 'wharf
service ps'.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				s, err := c.RestartService(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("service %s: %w", id, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), s.Name)
			}
			return nil
		},
	}
}
