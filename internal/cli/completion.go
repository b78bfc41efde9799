package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// completionHelp explains `wharf completion`.
const completionHelp = `Print the completion script of wharf for a shell. It completes nouns, verbs
and flags, the values of enumeration flags (--strategy, --autorestart...),
and the names of live services, nodes, stacks, containers and secrets,
fetched through the API with the usual settings (flags, WHARF_* variables,
the config file) when Tab is pressed.

  bash:  source <(wharf completion bash)
  zsh:   wharf completion zsh > "${fpath[1]}/_wharf"
  fish:  wharf completion fish | source`

// nameListers fetch the names of the objects an argument placeholder
// (a word of a command's Use) stands for.
var nameListers = map[string]func(context.Context, *client.Client) ([]string, error){
	"SERVICE": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Services(ctx)
		return names(l, func(s api.Service) string { return s.Name }), err
	},
	"NODE": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Nodes(ctx)
		return names(l, func(n api.Node) string { return n.Name }), err
	},
	"STACK": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Stacks(ctx)
		return names(l, func(s api.Stack) string { return s.Name }), err
	},
	"CONTAINER": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Containers(ctx, "", "")
		return names(l, func(ct api.Container) string { return ct.Name }), err
	},
	"NETWORK": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Networks(ctx)
		return names(l, func(n api.Network) string { return n.Name }), err
	},
	"SECRET": func(ctx context.Context, c *client.Client) ([]string, error) {
		l, err := c.Secrets(ctx)
		return names(l, func(s api.Secret) string { return s.Name }), err
	},
}

func names[T any](l []T, name func(T) string) []string {
	out := make([]string, 0, len(l))
	for _, o := range l {
		if n := name(o); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// enumFlags are the flags whose values are an enumeration.
var enumFlags = map[string][]string{
	"strategy":       api.Strategies.Values,
	"autorestart":    api.AutorestartPolicies.Values,
	"autodestroy":    api.AutodestroyPolicies.Values,
	"update-order":   api.UpdateOrders.Values,
	"rollback-order": api.UpdateOrders.Values,
	"failure-action": api.FailureActions.Values,
	"driver":         api.Drivers,
}

// addCompletion sets up shell completion on the whole tree: the
// `completion` command, live names for the arguments of every command
// whose Use names them (SERVICE, NODE...; "..." repeats the last), and
// the values of enumeration flags.
func addCompletion(root *cobra.Command, g *globals) {
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newCompletionCmd())
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if places, repeat := argPlaces(cmd.Use); cmd.ValidArgsFunction == nil && slices.ContainsFunc(places, func(p string) bool { return nameListers[p] != nil }) {
			cmd.ValidArgsFunction = completeNames(g, places, repeat)
		}
		for name, values := range enumFlags {
			if cmd.Flags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, completeValues(values))
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// argPlaces reads the positional placeholders of a Use line ("rm
// SERVICE..." is [SERVICE], repeated; "scale SERVICE REPLICAS" is
// [SERVICE REPLICAS]). Flags and their values, and optional words in
// brackets, are not positions.
func argPlaces(use string) (places []string, repeat bool) {
	words := strings.Fields(use)
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			return places, repeat
		case strings.HasPrefix(w, "-"):
			if !strings.Contains(w, "=") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") && !strings.HasPrefix(words[i+1], "[") {
				i++ // the flag's value
			}
		case strings.HasPrefix(w, "["):
			return places, repeat
		default:
			p, dots := strings.CutSuffix(w, "...")
			places = append(places, p)
			if dots {
				return places, true
			}
		}
	}
	return places, false
}

// completeNames completes the argument at the position being typed with
// the live names its placeholder stands for, fetched through the API.
// A failure completes nothing (a completion must never print an error).
func completeNames(g *globals, places []string, repeat bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		i := len(args)
		if i >= len(places) {
			if !repeat {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			i = len(places) - 1
		}
		list := nameListers[places[i]]
		if list == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := g.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		all, err := list(ctx, c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range all {
			if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeValues completes a flag with those of values that start with
// what is typed, in any case.
func completeValues(values []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(strings.ToLower(v), strings.ToLower(toComplete)) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// newCompletionCmd is `wharf completion SHELL`. (Cobra's own would write
// to the output the root had when it was made, not the one it runs with.)
func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print the shell completion script",
		Long:      completionHelp,
		Example:   "  source <(wharf completion bash)",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			out, root := cmd.OutOrStdout(), cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
