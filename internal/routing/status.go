package routing

import (
	"cmp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// IsRouter reports whether node n carries the RouterLabel with any value
// but "false".
func IsRouter(n *api.Node) bool {
	v, ok := n.Labels[api.RouterLabel]
	return ok && v != "false"
}

// Status is what `wharf router ls` shows for one organization: its
// router nodes, and every route of its live services (sorted by service
// name, each service's in its order) in text form, with every container
// of the service, ready or why not, and the route's problem when it
// serves nothing. A service whose routes do not resolve has one entry
// without a route, its problem the reason.
func Status(in Inputs) api.RouterStatus {
	out := api.RouterStatus{Nodes: []api.RouterNode{}, Routes: []api.RouteSummary{}}
	for _, n := range in.Nodes {
		if IsRouter(n) {
			out.Nodes = append(out.Nodes, api.RouterNode{ID: n.ID, Name: n.Name, State: n.State})
		}
	}
	slices.SortFunc(out.Nodes, func(a, b api.RouterNode) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	p := makePlan(in)
	names := map[string]string{}
	for _, s := range in.Services {
		names[s.ID] = s.Name
	}
	for id, why := range p.broken {
		out.Routes = append(out.Routes, api.RouteSummary{Service: names[id], Backends: []api.BackendStatus{}, Problem: why})
	}
	for _, pr := range p.routes {
		st := pr.statuses
		if st == nil {
			st = []api.BackendStatus{}
		}
		out.Routes = append(out.Routes, api.RouteSummary{Service: pr.svc.Name, Route: FormatRoute(pr.route), Backends: st, Problem: pr.problem})
	}
	// Stable: each service's routes stay in its order.
	slices.SortStableFunc(out.Routes, func(a, b api.RouteSummary) int { return strings.Compare(a.Service, b.Service) })
	return out
}
