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
	"strconv"
	"strings"

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
	pf.StringVar(&g.org, "org", "", "organization to act in (env WHARF_ORG; default: the one 'wharf org use' chose, else the token's own)")
	root.AddCommand(
		newVersionCmd(g),
		newUICmd(g),
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
		newDockerEnvCmd(g),
		newSecretCmd(g),
		newNetworkCmd(g),
		newRouterCmd(g),
		newImageCmd(g),
		newRegistryCmd(g),
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
	refuseUnknownSubcommands(root)
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

// addListFlags adds the output flags and --filter, whose keys are id, name
// and label, and the extra keys the list has (state, node, service).
func addListFlags(cmd *cobra.Command, f *listFlags, extraKeys ...string) {
	cmd.Flags().StringVar(&f.format, "format", "", "output: table (default), json, yaml, or a Go template on the JSON fields, such as '{{.name}}' or '{{.Name}}'")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print IDs only")
	f.filterKeys = append([]string{"id", "name", "label"}, extraKeys...)
	cmd.Flags().StringArrayVarP(&f.filters, "filter", "f", nil, filterUsage(f.filterKeys))
}

// refuseUnknownSubcommands makes every command that only groups others
// (`wharf service`, `wharf node`...) refuse an argument that names none of
// them, with the nearest ones, instead of printing its help and exiting 0:
// cobra does so for the root command only, on several lines.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		for d := 1; d <= 2; d++ { // the nearest only
			cmd.SuggestionsMinimumDistance = d
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %s?", quoteAll(s, " or "))
				break
			}
		}
		return fmt.Errorf("%s (see '%s --help')", msg, cmd.CommandPath())
	}
}

// eachArg runs fn on every argument, printing what it returns on stdout or
// its error on stderr, and goes on after a failure: `wharf service rm a b
// c` removes what it can. One argument's error is the command's; with
// several, the command fails when any did, naming them.
func eachArg(cmd *cobra.Command, what string, args []string, fn func(ref string) (string, error)) error {
	var failed []string
	for _, ref := range args {
		out, err := fn(ref)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", what, ref, err)
			if len(args) == 1 {
				return err
			}
			printError(cmd.ErrOrStderr(), err)
			failed = append(failed, ref)
			continue
		}
		_ = say(cmd.OutOrStdout(), "%s\n", out)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d %ss failed: %s", len(failed), len(args), what, strings.Join(failed, ", "))
	}
	return nil
}

// quoteAll quotes each of words and joins them with sep.
func quoteAll(words []string, sep string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, sep)
}
