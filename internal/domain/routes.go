package domain

// The router's view of an organization (`wharf router ls`): what package
// routing makes of its services, containers, nodes and secrets.

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/routing"
	"github.com/wharfhq/wharf/internal/store"
)

// validateRoutes checks the spec's routes and route options, its own and
// those of its Docker Cloud variables (routing.Validate).
func validateRoutes(spec *api.ServiceSpec) error { return routing.Validate(*spec) }

// RouterStatus is every route of the actor's organization with its
// backends, and the organization's router nodes (routing.Status). A
// route's problem may name a missing certificate secret; no secret's
// value is read. It refuses an actor without Apps Read.
func (d *Domain) RouterStatus(ctx context.Context, a Actor) (api.RouterStatus, error) {
	empty := api.RouterStatus{Nodes: []api.RouterNode{}, Routes: []api.RouteSummary{}}
	if err := a.need(AppsView); err != nil {
		return empty, err
	}
	in := routing.Inputs{ACME: d.cfg.ACME}
	svcs, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return empty, err
	}
	in.Services = owned(a, svcs, func(s *api.Service) *api.Meta { return &s.Meta })
	ctrs, _, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
	if err != nil {
		return empty, err
	}
	in.Containers = owned(a, ctrs, func(c *api.Container) *api.Meta { return &c.Meta })
	nodes, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
	if err != nil {
		return empty, err
	}
	in.Nodes = owned(a, nodes, func(n *api.Node) *api.Meta { return &n.Meta })
	secrets, _, err := store.ListAll[records.Secret](ctx, d.st, store.KindSecrets)
	if err != nil {
		return empty, err
	}
	// Status needs to know which secrets exist, never their values.
	in.Secrets = map[string]string{}
	for _, s := range secrets {
		if OrgName(s.Org) == OrgName(a.Org) {
			in.Secrets[s.Name] = ""
		}
	}
	return routing.Status(in), nil
}

// owned are the objects of all that belong to the actor's organization.
func owned[T any](a Actor, all []*T, meta func(*T) *api.Meta) []*T {
	var out []*T
	for _, o := range all {
		if a.owns(meta(o)) {
			out = append(out, o)
		}
	}
	return out
}
