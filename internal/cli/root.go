// Package cli is the `wharf` command line: every noun and verb, the server,
// agent and up commands, and the client configuration. The client commands
// speak only the REST API (through api/client); the cli never reads the
// store or talks to agents itself.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api/client"
)

// globals are the connection flags every client command shares.
type globals struct {
	addr   string
	token  string
	cacert string
	org    string
}

// NewRoot builds the whole command tree.
func NewRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "wharf",
		Short:         "Wharf: one control plane for all your container hosts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.addr, "addr", "", "server URL (env WHARF_ADDR)")
	pf.StringVar(&g.token, "token", "", "API token (env WHARF_TOKEN)")
	pf.StringVar(&g.cacert, "cacert", "", "CA certificate file of the server (env WHARF_CACERT)")
	pf.StringVar(&g.org, "org", "", "organization to act in (env WHARF_ORG; default: `wharf org use`'s, else the token's own)")
	root.AddCommand(
		newVersionCmd(g),
		newServerCmd(g),
		newAgentCmd(),
		newUpCmd(),
		newDownCmd(),
		newHelloCmd(),
		newNodeCmd(g),
		newServiceCmd(g),
		newStackCmd(g),
		newContainerCmd(g),
		newTokenCmd(g),
		newSecretCmd(g),
		newEventsCmd(g),
		newActionsCmd(g),
		newLoginCmd(g),
		newLogoutCmd(g),
		newWhoamiCmd(g),
		newOrgCmd(g),
		newTeamCmd(g),
		newUserCmd(g),
	)
	addCompletion(root, g)
	return root
}

// Main runs the CLI and returns the process exit code. Errors are one line
// on stderr.
func Main(ctx context.Context, args []string) int {
	root := NewRoot()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(os.Stderr, err)
		return 1
	}
	return 0
}

// printError prints a command's error as one line. Its text may come from
// the server (and through it from anyone who named something): escaped.
func printError(w io.Writer, err error) {
	_ = say(w, "wharf: %s\n", err)
}

// resolve applies flag > environment > config file > default.
func (g *globals) resolve() (client.Options, error) {
	cfg, err := LoadConfig()
	if err != nil {
		return client.Options{}, err
	}
	pick := func(flag, env, file string) string {
		if flag != "" {
			return flag
		}
		if v := os.Getenv(env); v != "" {
			return v
		}
		return file
	}
	o := client.Options{
		Addr:  pick(g.addr, "WHARF_ADDR", cfg.Addr),
		Token: pick(g.token, "WHARF_TOKEN", cfg.Token),
		Org:   pick(g.org, "WHARF_ORG", cfg.Org),
	}
	if ca := pick(g.cacert, "WHARF_CACERT", cfg.CACert); ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return o, fmt.Errorf("CA certificate: %w", err)
		}
		o.CACert = b
	}
	return o, nil
}

// client makes an API client from the resolved settings.
func (g *globals) client() (*client.Client, error) {
	o, err := g.resolve()
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, fmt.Errorf("no API token: run `wharf login`, pass --token, set WHARF_TOKEN, or run `wharf up` (it writes the client config)")
	}
	return client.New(o)
}

func addListFlags(cmd *cobra.Command, f *listFlags) {
	cmd.Flags().StringVar(&f.format, "format", "", "output: table (default), json, or a Go template on the JSON fields, such as '{{.name}}' or '{{.Name}}'")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print IDs only")
}
