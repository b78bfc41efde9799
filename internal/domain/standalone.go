package domain

// The operations the Docker API's containers need beside the service
// operations: renaming a service (docker rename) and checking, before a
// standalone container's service is made, that some node can run it
// (docker run's synchronous "unable to find a node").

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/scheduler"
	"github.com/wharfhq/wharf/internal/store"
)

// RenameService gives the service ref names the name name, moving its
// name index in the same transaction; a standalone service's container
// (named as its service) is renamed with it. It refuses an actor without
// Apps Deploy, a bad or taken name (a conflict), a service of a stack (it
// is named by its stack) and a service being removed. Renaming to the
// name it has writes nothing.
func (d *Domain) RenameService(ctx context.Context, a Actor, ref, name string) (*api.Service, error) {
	if err := a.need(AppsDeploy); err != nil {
		return nil, err
	}
	if !serviceNameRE.MatchString(name) {
		return nil, errdefs.Invalid("name", "service name %q must match %s", name, serviceNameRE)
	}
	svc, err := d.resolveService(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	noteObject(ctx, svc.ID)
	switch {
	case svc.Name == name:
		return svc, nil
	case svc.Terminating:
		return nil, terminatingErr(svc)
	case svc.Stack != "":
		return nil, newErr(errdefs.ErrConflict, "service %q belongs to a stack, which names it; rename it in the stack's file and deploy the stack again", svc.Name)
	}
	var idx nameIndex
	oldKey := serviceNameKey(svc.Org, svc.Name)
	if err := d.st.Get(ctx, store.KindNames, oldKey, &idx); err != nil {
		return nil, err
	}
	old := svc.Name
	svc.Name = name
	t := d.st.Txn()
	t.Update(store.KindServices, svc)
	t.Delete(store.KindNames, oldKey, idx.Revision)
	t.Create(store.KindNames, &nameIndex{api.Meta{ID: serviceNameKey(svc.Org, name), Name: svc.ID, Org: svc.Org}})
	if svc.Spec.Standalone {
		all, _, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if c.Spec.Service == svc.ID && c.Name == old {
				c.Name = name
				t.Update(store.KindContainers, c)
			}
		}
	}
	t.Emit(serviceEvent(svc, fmt.Sprintf("renamed from %s", old)))
	if err := t.Commit(ctx); err != nil {
		switch {
		case errors.Is(err, store.ErrExists):
			return nil, newErr(errdefs.ErrConflict, "a service named %q already exists", name)
		case errors.Is(err, store.ErrConflict):
			return nil, newErr(errdefs.ErrConflict, "service %q changed while it was renamed; try again", old)
		}
		return nil, err
	}
	return svc, nil
}

// CheckPlacement tells whether some node of the actor's organization
// passes every hard filter (constraints, affinities, tags, ports,
// reservations) for one container of a new service with spec, as the
// scheduler would judge it now. It returns a conflict naming why not, or
// nil. It refuses an actor without Apps View. The controller places the
// container later: a node may still change in between.
func (d *Domain) CheckPlacement(ctx context.Context, a Actor, spec api.ServiceSpec) error {
	if err := a.need(AppsView); err != nil {
		return err
	}
	nodes, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
	if err != nil {
		return err
	}
	mine := nodes[:0]
	for _, n := range nodes {
		if a.owns(&n.Meta) {
			mine = append(mine, n)
		}
	}
	if len(mine) == 0 {
		return newErr(errdefs.ErrConflict, "no node in this organization to run the container: join one with `wharf node join-token`")
	}
	conts, _, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
	if err != nil {
		return err
	}
	svcs, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return err
	}
	byID := make(map[string]*api.Service, len(svcs))
	for _, s := range svcs {
		byID[s.ID] = s
	}
	probe := &api.Service{Meta: api.Meta{ID: "placement-check", Org: a.orgOf()}, Spec: spec}
	if _, reason := scheduler.EligibleNodes(mine, conts, probe, scheduler.WithServices(byID)); reason != "" {
		return newErr(errdefs.ErrConflict, "unable to find a node that satisfies the container's placement: %s", reason)
	}
	return nil
}
