package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// stackView is a stack as lists print it: the object plus its state at
// the top level.
type stackView struct {
	api.Stack
	State string `json:"state"`
}

func stackLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List stacks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			stacks, err := c.Stacks(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(stacks))
			for _, s := range stacks {
				rows = append(rows, row{id: s.ID, obj: stackView{s, string(s.Status.State)}, cells: []string{
					s.Name, strconv.Itoa(len(s.Spec.Services)),
					fmt.Sprintf("%d/%d", s.Status.Running, s.Status.Services), string(s.Status.State), ago(s.CreatedAt),
				}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"NAME", "SERVICES", "RUNNING", "STATE", "CREATED"}, rows)
		},
	}
	addListFlags(cmd, &f, "state")
	return cmd
}

func stackPs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ps STACK", Short: "List the containers of every service of a stack, and why any wait", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			svcs, err := c.StackServices(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("stack %s: %w", args[0], err)
			}
			nodes, err := c.Nodes(cmd.Context())
			if err != nil {
				return err
			}
			nodeName := map[string]string{}
			for _, n := range nodes {
				nodeName[n.ID] = n.Name
			}
			slices.SortFunc(svcs, func(a, b api.Service) int { return strings.Compare(a.Name, b.Name) })
			var rows []row
			for _, s := range svcs {
				cts, err := c.Containers(cmd.Context(), s.ID, "")
				if err != nil {
					return fmt.Errorf("service %s: %w", s.Name, err)
				}
				rows = append(rows, containerRows(cts, s.Name, nodeName)...)
			}
			if err := printList(cmd.OutOrStdout(), f, containerHeader(true), rows); err != nil {
				return err
			}
			if f.format != "" || f.quiet {
				return nil
			}
			first := true
			for _, s := range svcs {
				if s.Status.Pending == "" {
					continue
				}
				if first {
					fmt.Fprintln(cmd.OutOrStdout())
					first = false
				}
				say(cmd.OutOrStdout(), "%s pending: %s\n", s.Name, s.Status.Pending)
			}
			return nil
		},
	}
	addListFlags(cmd, &f, "state", "node", "service")
	return cmd
}

func stackInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "STACK", "stack", (*client.Client).Stack)
}

// stackVerb posts verb (stop, start, redeploy) to each stack it names and
// prints their names.
func stackVerb(g *globals, verb, short string) *cobra.Command {
	return &cobra.Command{
		Use: verb + " STACK...", Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "stack", args, func(id string) (string, error) {
				s, err := c.StackAction(cmd.Context(), id, verb)
				return s.Name, err
			})
		},
	}
}

func stackRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm STACK...", Short: "Terminate stacks: remove every service they made, then the stack", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "stack", args, func(id string) (string, error) {
				return id, c.RemoveStack(cmd.Context(), id)
			})
		},
	}
}
