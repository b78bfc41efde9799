package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	cmd.AddCommand(tokenCreate(g), tokenLs(g), tokenRm(g))
	return cmd
}

func tokenCreate(g *globals) *cobra.Command {
	var readOnly bool
	cmd := &cobra.Command{
		Use: "create NAME", Short: "Make an API token; its secret is printed once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), args[0], !readOnly)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", t.Secret)
			return nil
		},
	}
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "the token may only read")
	return cmd
}

func tokenLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List API tokens (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			toks, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(toks))
			for _, t := range toks {
				rows = append(rows, row{id: t.ID, obj: t, cells: []string{t.ID, t.Name, strconv.FormatBool(t.Admin), ago(t.CreatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"ID", "NAME", "ADMIN", "AGE"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func tokenRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm TOKEN-ID...", Short: "Revoke API tokens", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.RemoveToken(cmd.Context(), id); err != nil {
					return fmt.Errorf("token %s: %w", id, err)
				}
				say(cmd.OutOrStdout(), "%s\n", id)
			}
			return nil
		},
	}
}
