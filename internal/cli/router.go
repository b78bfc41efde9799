package cli

// `wharf router ls`: the organization's routes as the routers serve them.

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

func newRouterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "router", Short: "Show the routers: the ways in to services from outside (--route)"}
	cmd.AddCommand(routerLs(g))
	return cmd
}

// routerLsHelp explains `wharf router ls`.
const routerLsHelp = `List every route of the organization's services (--route, compose label
wharf.route, Docker Cloud's VIRTUAL_HOST and TCP_PORTS, ingress ports) with
how many of the service's containers serve it, and why a route serves nothing:
another, older service has its host and path, its certificate's secret is
missing, no container is ready. The ROUTERS line names the router nodes (the
nodes labelled wharf.router=true, which serve the routes). With -v, each
container of each route: its node, the address routers reach it at, and its
state, or why it is not routed.`

func routerLs(g *globals) *cobra.Command {
	var (
		format   string
		backends bool
	)
	cmd := &cobra.Command{
		Use: "ls", Short: "List routes, their backends and the router nodes", Long: routerLsHelp, Args: cobra.NoArgs,
		Example: "  wharf router ls\n  wharf router ls -v",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			st, err := c.Routes(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				return printJSON(w, st)
			case "yaml":
				return printYAML(w, st)
			case "", "table":
				return printRouterStatus(w, st, backends)
			}
			return fmt.Errorf("--format %q: want table, json or yaml", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output: table (default), json or yaml")
	cmd.Flags().BoolVarP(&backends, "backends", "v", false, "list each route's containers: node, address and state")
	return cmd
}

// printRouterStatus prints the ROUTERS line, then a table of the routes
// (or, with backends, of their containers).
func printRouterStatus(w io.Writer, st api.RouterStatus, backends bool) error {
	routers := make([]string, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		routers = append(routers, n.Name+" ("+string(n.State)+")")
	}
	line := strings.Join(routers, ", ")
	if len(routers) == 0 {
		line = "none: label a node to make it one (wharf node label NODE " + api.RouterLabel + "=true)"
	}
	if err := say(w, "ROUTERS: %s\n\n", line); err != nil {
		return err
	}
	var rows []row
	for _, r := range st.Routes {
		route := orDash(r.Route)
		if !backends {
			ready := 0
			for _, b := range r.Backends {
				if b.Ready {
					ready++
				}
			}
			rows = append(rows, row{obj: r, cells: []string{r.Service, route, fmt.Sprintf("%d/%d", ready, len(r.Backends)), r.Problem}})
			continue
		}
		if len(r.Backends) == 0 {
			rows = append(rows, row{obj: r, cells: []string{r.Service, route, "-", "-", "-", orDash(r.Problem)}})
		}
		for _, b := range r.Backends {
			rows = append(rows, row{obj: r, cells: []string{r.Service, route, b.Container, orDash(b.Node), orDash(b.Address), b.Status}})
		}
	}
	header := []string{"SERVICE", "ROUTE", "BACKENDS", "PROBLEM"}
	if backends {
		header = []string{"SERVICE", "ROUTE", "CONTAINER", "NODE", "ADDRESS", "STATE"}
	}
	return printList(w, listFlags{}, header, rows)
}
