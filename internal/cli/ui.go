package cli

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

func newUICmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ui",
		Short: "Print a one-time link that signs a browser in to the web dashboard",
		Long: `Print a link to the web dashboard (/ui on the server's address) that signs
a browser in with this token's rights, in the organization --org names (else
the token's own). The link carries a one-time code: it works once, within a
minute; the session it starts lasts at most 12 hours and ends when this token
is deleted. Signing in with a user name and password, or by pasting a token,
works on the dashboard's own sign-in page too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := g.resolve()
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			code, err := c.CreateSignInCode(cmd.Context())
			if err != nil {
				return err
			}
			link := strings.TrimRight(o.Addr, "/") + api.SignInCodePath + "?code=" + url.QueryEscape(code.Code)
			out := cmd.OutOrStdout()
			say(cmd.ErrOrStderr(), "Open this link within a minute to sign in to the dashboard (organization %s); it works once:\n", code.Org)
			say(out, "%s\n", link)
			return nil
		},
	}
}
