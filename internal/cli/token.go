package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	cmd.AddCommand(tokenCreate(g), tokenLs(g), tokenRm(g))
	return cmd
}

func tokenCreate(g *globals) *cobra.Command {
	var (
		role     string
		readOnly bool
		team     string
		ttl      string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Make an API token (read-only unless --role says otherwise); its secret is printed once",
		Long: `Make an API token and print its secret, once, on standard output; the role it
got is said on standard error. Roles, from least to most privilege:
  read-only  may only read (the default)
  deploy     may also change services, stacks and containers
  admin      may do everything: exec into containers, change nodes, tokens, join tokens
A token acts in the current organization: as you, narrowed to its role, when
you logged in; with --team, as a robot of that team (organization owners).
--ttl makes it expire (such as 720h).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if readOnly {
				if cmd.Flags().Changed("role") && role != api.RoleReadOnly {
					return fmt.Errorf("--read-only and --role %s contradict each other: pass one", role)
				}
				role = api.RoleReadOnly
			}
			if !slices.Contains(api.Roles, role) {
				return fmt.Errorf("--role %q: want one of %s", role, strings.Join(api.Roles, ", "))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var t api.TokenCreated
			if team == "" && ttl == "" {
				t, err = c.CreateToken(cmd.Context(), args[0], role)
			} else {
				req := api.CreateTokenRequest{Name: args[0], Role: role, Team: team, TTL: ttl}
				if team != "" && !cmd.Flags().Changed("role") && !readOnly {
					req.Role = "" // a robot token has its team's access, unless narrowed
				}
				t, err = c.CreateTokenWith(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "created %s token %s\n", t.EffectiveRole(), t.Name)
			say(cmd.OutOrStdout(), "%s\n", t.Secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", api.RoleReadOnly, "what the token may do: "+strings.Join(api.Roles, ", "))
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "same as --role read-only (the default)")
	cmd.Flags().StringVar(&team, "team", "", "make a robot token of this team (its access, narrowed by --role when given)")
	cmd.Flags().StringVar(&ttl, "ttl", "", "expire after this long, such as 720h (default: never)")
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
				owner := t.User
				if t.Team != "" {
					owner = "team " + t.Team
				}
				rows = append(rows, row{id: t.ID, obj: t, cells: []string{t.ID, t.Name, cmpOr(t.Kind, "bearer"), t.EffectiveRole(), cmpOr(owner, "-"), expiry(t.ExpiresAt), ago(t.CreatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"ID", "NAME", "KIND", "ROLE", "OWNER", "EXPIRES", "AGE"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func tokenRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm TOKEN...", Short: "Revoke API tokens, named by ID or name (a name several tokens share is refused, listing their IDs)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "token", args, func(id string) (string, error) {
				return id, c.RemoveToken(cmd.Context(), id)
			})
		},
	}
}

// expiry is when a token expires, as `wharf token ls` shows it.
func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
