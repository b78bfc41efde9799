package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Manage nodes (the hosts that run containers)"}
	cmd.AddCommand(nodeLs(g), nodeInspect(g), nodeLabel(g), nodeAvailability(g, api.AvailabilityDrain), nodeAvailability(g, api.AvailabilityPause),
		nodeAvailability(g, api.AvailabilityActive), nodeRm(g), nodeJoinToken(g))
	return cmd
}

func nodeLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List nodes", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			nodes, err := c.Nodes(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(nodes))
			for _, n := range nodes {
				rows = append(rows, row{id: n.ID, obj: n, match: map[string][]string{"availability": {string(n.Available())}}, cells: []string{
					n.ID, orDash(n.Name), string(n.State), string(n.Available()), orDash(strings.Join(n.Addresses, ",")),
					fmtLabels(n.Labels), orDash(strings.Join(n.Drivers, ",")), ago(n.CreatedAt),
				}})
			}
			if err := printList(cmd.OutOrStdout(), f, []string{"ID", "NAME", "STATE", "AVAILABILITY", "ADDRESSES", "LABELS", "DRIVERS", "AGE"}, rows); err != nil {
				return err
			}
			if f.format != "" || f.quiet {
				return nil
			}
			for _, n := range nodes {
				if !n.Draining() || n.DrainWaiting == "" {
					continue
				}
				say(cmd.OutOrStdout(), "\n%s draining, waiting for:\n", orDash(n.Name))
				for _, line := range strings.Split(n.DrainWaiting, "\n") {
					say(cmd.OutOrStdout(), "  %s\n", line)
				}
			}
			return nil
		},
	}
	addListFlags(cmd, &f, "state", "availability")
	return cmd
}

func nodeInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "NODE", "node", (*client.Client).Node)
}

func nodeLabel(g *globals) *cobra.Command {
	var rm []string
	cmd := &cobra.Command{
		Use: "label NODE [k=v ...]", Short: "Add, change (k=v) or remove (--rm k) a node's labels", Args: cobra.MinimumNArgs(1),
		Example: "  wharf node label node-1 storage=ssd zone=a --rm old",
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseLabels(args[1:])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			n, err := c.Node(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			labels := map[string]string{}
			for k, v := range n.Labels {
				labels[k] = v
			}
			for k, v := range set {
				labels[k] = v
			}
			for _, k := range rm {
				delete(labels, k)
			}
			n, err = c.LabelNode(cmd.Context(), n.ID, labels)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s %s\n", n.ID, fmtLabels(n.Labels))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&rm, "rm", nil, "label keys to remove")
	return cmd
}

// availabilityCommands are the words of `wharf node drain|pause|activate`.
var availabilityCommands = map[api.NodeAvailability]struct{ use, short, long, done string }{
	api.AvailabilityDrain: {"drain", "Move a node's containers to other nodes and place nothing new on it (the node stays)",
		"Drain nodes: nothing new is placed on them, and each container of a service there is first\n" +
			"started on another node, then stopped (as node rm does, but the node stays; one that holds\n" +
			"an overlay address stops first, its address being in one place at a time). EVERY_NODE\n" +
			"services stop running there; a docker run container stays unless it has\n" +
			"reschedule:on-node-failure. wharf node ls shows what a drain waits for. wharf node activate\n" +
			"makes a node take containers again; nothing moves back on its own.",
		"draining: its containers move to other nodes (wharf node ls shows what the drain waits for)"},
	api.AvailabilityPause: {"pause", "Place nothing new on a node; what it runs keeps running",
		"Pause nodes: nothing new is placed on them (new services, scale-ups, replacements), and what\n" +
			"they run keeps running. wharf node activate undoes it.",
		"paused: nothing new is placed on it"},
	api.AvailabilityActive: {"activate", "Let a paused or drained node take containers again",
		"Activate nodes: containers may be placed on them again. Nothing moves back on its own: new\n" +
			"containers, scale-ups and redeploys (wharf service redeploy) go there.",
		"active"},
}

func nodeAvailability(g *globals, to api.NodeAvailability) *cobra.Command {
	w := availabilityCommands[to]
	return &cobra.Command{
		Use: w.use + " NODE...", Short: w.short, Long: w.long, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "node", args, func(id string) (string, error) {
				if _, err := c.SetNodeAvailability(cmd.Context(), id, to); err != nil {
					return "", err
				}
				return id + " " + w.done, nil
			})
		},
	}
}

func nodeRm(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm NODE...",
		Short: "Remove nodes (a node with containers is drained first)",
		Long: "Remove nodes. A node that runs containers becomes Terminating: each of its containers is\n" +
			"first started on another node, then removed, then the node is removed. --force removes the\n" +
			"node at once; its containers are started elsewhere afterwards. The removed node's agent\n" +
			"stops and removes its containers and exits.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			path := "/v1/nodes/"
			query := ""
			if force {
				query = "?force=1"
			}
			return eachArg(cmd, "node", args, func(id string) (string, error) {
				var n api.Node
				if err := c.Do(cmd.Context(), http.MethodDelete, path+url.PathEscape(id)+query, nil, &n); err != nil {
					return "", err
				}
				if n.State == api.NodeTerminating {
					return id + " draining: its containers move to other nodes, then it is removed (wharf node ls shows it Terminating until then)", nil
				}
				return id, nil
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove at once, without draining the node first")
	return cmd
}

func fmtLabels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// parseLabels reads k=v arguments.
func parseLabels(args []string) (map[string]string, error) { return parsePairs("label", args) }

// parsePairs reads key=value arguments; what names them in errors
// ("label", "variable").
func parsePairs(what string, args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want key=value", what, a)
		}
		out[k] = v
	}
	return out, nil
}

// parseEnv reads --env k=v entries. Swarm classic's rules pass as they
// are for the server to read (constraint:storage==ssd splits into the
// name constraint:storage and the value =ssd, as docker splits it), and
// reschedule:POLICY, which has no "=", is sent with an empty value.
func parseEnv(args []string) (map[string]string, error) {
	var pairs []string
	out := map[string]string{}
	for _, a := range args {
		if !strings.Contains(a, "=") && strings.HasPrefix(strings.ToLower(a), "reschedule:") {
			out[a] = ""
			continue
		}
		pairs = append(pairs, a)
	}
	rest, err := parsePairs("variable", pairs)
	for k, v := range rest {
		out[k] = v
	}
	return out, err
}
