package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

func newEventsCmd(g *globals) *cobra.Command {
	var (
		follow bool
		since  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the event stream (every state change); -f follows it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			print := func(e api.Event) error { return printEvent(out, e, asJSON) }
			if follow {
				if since == "" {
					since = "now" // like docker events: what happens from now on
				}
				return c.FollowEvents(cmd.Context(), since, print)
			}
			evs, err := c.Events(cmd.Context(), since)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if err := print(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming new events, from now on unless --since is given (resumes on its own after a disconnect)")
	cmd.Flags().StringVar(&since, "since", "", "only events after this cursor (the first column); 0 for every event kept")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

func printEvent(w io.Writer, e api.Event, asJSON bool) error {
	if asJSON {
		return printJSONLine(w, e)
	}
	_, err := fmt.Fprintf(w, "%-8s %s  %-9s %-8s %-12s %-12s %s\n", e.Cursor(), e.Time.Local().Format(time.DateTime),
		cell(e.Kind), cell(e.Type), cell(orDash(e.Name)), cell(orDash(e.State)), cell(e.Message))
	return err
}

func newActionsCmd(g *globals) *cobra.Command {
	var (
		f      listFlags
		newest bool
	)
	cmd := &cobra.Command{
		Use: "actions", Short: "Print the audit trail: every mutating API call, who made it, and its result", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list := c.Actions
			if newest {
				list = c.ActionsNewestFirst
			}
			acts, err := list(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(acts))
			for _, a := range acts {
				rows = append(rows, row{id: a.ID, obj: a, cells: []string{
					a.Started.Local().Format(time.DateTime), a.Who, a.Method + " " + a.Path, fmt.Sprint(a.Status), a.Result, orDash(a.Error),
				}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"TIME", "WHO", "CALL", "STATUS", "RESULT", "ERROR"}, rows)
		},
	}
	addListFlags(cmd, &f)
	cmd.Flags().BoolVar(&newest, "newest-first", false, "list the newest actions first (the default is oldest first)")
	return cmd
}
