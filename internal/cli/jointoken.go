package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

// nodeJoinToken is `wharf node join-token`: make a join token (and print
// the command that joins a host), list them (ls) and revoke them (rm).
func nodeJoinToken(g *globals) *cobra.Command {
	var (
		rotate, quiet, agent bool
		ttl                  time.Duration
		uses                 int64
	)
	cmd := &cobra.Command{
		Use:   "join-token",
		Short: "Make a join token and print the command that joins a new host",
		Long: "Make a join token and print the command that joins a new host. A join token only ever\n" +
			"makes new nodes; it expires after --ttl (default " + api.DefaultJoinTokenTTL.String() + "; --ttl 0 for never) and, with\n" +
			"--uses N, after N nodes joined with it. `wharf node join-token ls` lists the tokens,\n" +
			"`wharf node join-token rm ID` revokes one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 {
				return fmt.Errorf("--ttl %s: want a duration such as 24h, or 0 for a token that never expires", ttl)
			}
			if uses < 0 {
				return fmt.Errorf("--uses %d: want the number of nodes the token may join, or 0 for no limit", uses)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateJoinToken(cmd.Context(), api.JoinTokenRequest{Rotate: rotate, TTL: ttl.String(), MaxUses: uses})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if quiet {
				say(out, "%s\n", t.Token)
				return nil
			}
			switch {
			case agent && t.AgentCommand == "":
				return fmt.Errorf("this server does not say how to run the agent; run: WHARF_JOIN_TOKEN=%s wharf agent --server URL", t.Token)
			case agent:
				say(out, "To add a node, run this on a host that has the wharf binary:\n\n    %s\n\n", t.AgentCommand)
			default:
				say(out, "To add a node, run this on the new host (it installs the agent as a systemd service,\n"+
					"and fetches the installer only from a server with a certificate from this cluster's CA):\n\n    %s\n\n", t.Command)
			}
			say(out, "The token (ID %s) %s.\n", t.ID, joinTokenLimits(t.JoinToken))
			if rotate {
				fmt.Fprintln(out, "Every older join token has been revoked.")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&rotate, "rotate", false, "revoke every older join token")
	f.BoolVarP(&quiet, "quiet", "q", false, "print the token only")
	f.BoolVar(&agent, "agent", false, "print the 'wharf agent' command instead of the install one-liner")
	f.DurationVar(&ttl, "ttl", api.DefaultJoinTokenTTL, "how long the token works; 0: it never expires")
	f.Int64Var(&uses, "uses", 0, "how many nodes may join with the token; 0: no limit")
	cmd.AddCommand(joinTokenLs(g), joinTokenRm(g))
	return cmd
}

// joinTokenLimits says until when and for how many joins t works.
func joinTokenLimits(t api.JoinToken) string {
	life := "never expires"
	if !t.ExpiresAt.IsZero() {
		life = "expires at " + t.ExpiresAt.Local().Format(time.RFC3339)
	}
	if t.MaxUses > 0 {
		return fmt.Sprintf("%s and joins at most %d node(s)", life, t.MaxUses)
	}
	return life + " and joins any number of nodes"
}

// joinTokenState is active, expired or used up.
func joinTokenState(t api.JoinToken, now time.Time) string {
	switch {
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return "expired"
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return "used up"
	}
	return "active"
}

func joinTokenLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List join tokens (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			toks, err := c.JoinTokens(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			rows := make([]row, 0, len(toks))
			for _, t := range toks {
				expires, limit := "never", "-"
				if !t.ExpiresAt.IsZero() {
					expires = t.ExpiresAt.Local().Format(time.RFC3339)
				}
				if t.MaxUses > 0 {
					limit = strconv.FormatInt(t.MaxUses, 10)
				}
				rows = append(rows, row{id: t.ID, obj: t, cells: []string{
					t.ID, joinTokenState(t, now), expires, strconv.FormatInt(t.Uses, 10), limit, ago(t.CreatedAt),
				}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"ID", "STATE", "EXPIRES", "USES", "MAX USES", "AGE"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func joinTokenRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm ID...", Short: "Revoke join tokens (nodes that joined with them stay)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.DeleteJoinToken(cmd.Context(), id); err != nil {
					return fmt.Errorf("join token %s: %w", id, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			return nil
		},
	}
}
