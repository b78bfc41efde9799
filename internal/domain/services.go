package domain

// The service operations: create, read, list, scale, start, stop,
// redeploy, update and remove. The controller does the rest.

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// resolveService finds a service of the actor's organization by ID, then
// by name.
func (d *Domain) resolveService(ctx context.Context, a Actor, ref string) (*api.Service, error) {
	return resolve[api.Service](ctx, d.st, a, store.KindServices, "service", serviceNameKey, ref)
}

// CreateService creates a running service named name with spec (a
// standalone one running only if spec.Running says so), and its
// name index, in one transaction with a "created" event. It refuses an
// actor without Apps Write, a bad name or spec, and a name already taken
// (a conflict).
func (d *Domain) CreateService(ctx context.Context, a Actor, name string, spec api.ServiceSpec) (*api.Service, error) {
	if err := a.need(AppsDeploy); err != nil {
		return nil, err
	}
	if !serviceNameRE.MatchString(name) {
		return nil, errdefs.Invalid("name", "service name %q must match %s", name, serviceNameRE)
	}
	if err := validateSpec(&spec); err != nil {
		return nil, err
	}
	if err := validateDependsOn(&spec, name); err != nil {
		return nil, err
	}
	if err := d.CheckSecretRefs(ctx, a, &spec, "spec"); err != nil {
		return nil, err
	}
	if err := d.CheckNetworkRefs(ctx, a, &spec, "spec", nil); err != nil {
		return nil, err
	}
	pinned, err := d.newPinner(a).pin(ctx, &spec)
	if err != nil {
		return nil, err
	}
	unlock, quotas, err := d.quotaGuard(ctx, a)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := d.checkContainerQuota(ctx, a, quotas, nil, containersOf(&spec)); err != nil {
		return nil, err
	}
	svc := api.Service{
		Meta:   api.Meta{ID: newID(), Name: name, Org: a.orgOf()},
		Spec:   spec,
		Status: api.ServiceStatus{State: api.ServiceNotRunning},
		// Pinned to its digest (pin.go), or "".
		ResolvedImage: pinned,
	}
	// A standalone container's service starts as asked: docker create
	// makes it stopped, docker start starts it.
	svc.Spec.Running = svc.Spec.Running || !spec.Standalone
	noteObject(ctx, svc.ID)
	t := d.st.Txn()
	t.Create(store.KindServices, &svc)
	t.Create(store.KindNames, &nameIndex{api.Meta{ID: serviceNameKey(svc.Org, svc.Name), Name: svc.ID, Org: svc.Org}})
	t.Emit(api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "created", State: string(svc.Status.State),
		Message: fmt.Sprintf("service %s created with %d replicas", svc.Name, svc.Spec.Replicas)})
	if err := t.Commit(ctx); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, newErr(errdefs.ErrConflict, "a service named %q already exists", name)
		}
		return nil, err
	}
	return &svc, nil
}

// GetService reads the service ref names (its ID or name). It refuses an
// actor without Apps Read.
func (d *Domain) GetService(ctx context.Context, a Actor, ref string) (*api.Service, error) {
	if err := a.need(AppsView); err != nil {
		return nil, err
	}
	return d.resolveService(ctx, a, ref)
}

// ListServices reads a page of services, only those of the stack
// stackRef names (its ID or name) unless stackRef is "". It refuses an
// actor without Apps Read, an unknown stack and a bad page.
func (d *Domain) ListServices(ctx context.Context, a Actor, stackRef string, p Page) (api.List[api.Service], error) {
	if err := a.need(AppsView); err != nil {
		return api.List[api.Service]{}, err
	}
	keep := func(svc *api.Service) bool { return a.owns(&svc.Meta) }
	if stackRef != "" {
		st, err := d.resolveStack(ctx, a, stackRef)
		if err != nil {
			return api.List[api.Service]{}, err
		}
		keep = func(svc *api.Service) bool { return svc.Stack == st.ID && a.owns(&svc.Meta) }
	}
	return listPage[api.Service](ctx, d.st, store.KindServices, p, keep)
}

// ListServicesRaw reads a page of services as the store holds them, for a
// front door that copies their JSON through. It refuses an actor without
// Apps Read and a bad page.
func (d *Domain) ListServicesRaw(ctx context.Context, a Actor, p Page) (RawPage, error) {
	if err := a.need(AppsView); err != nil {
		return RawPage{}, err
	}
	return d.cachedRawPage(ctx, a, store.KindServices, p)
}

// serviceEvent is an "updated" event about a service.
func serviceEvent(svc *api.Service, msg string) api.Event {
	return api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "updated", Message: "service " + svc.Name + " " + msg}
}

// modifyService applies fn to the service ref names (by ID or name); see
// modify.
func (d *Domain) modifyService(ctx context.Context, a Actor, ref string, rev int64, fn func(*api.Service) ([]api.Event, error)) (*api.Service, error) {
	svc, err := d.resolveService(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	noteObject(ctx, svc.ID)
	return modify(ctx, d.st, store.KindServices, "service", svc.ID, rev, fn)
}

func terminatingErr(svc *api.Service) error {
	return newErr(errdefs.ErrConflict, "service %q is being removed", svc.Name)
}

// ValidateReplicas checks a number of containers to scale a service to
// (ScaleService checks it too; a front door may check it first to report
// it before its own errors).
func ValidateReplicas(n int) error {
	if n < 0 || n > 10000 {
		return errdefs.Invalid("replicas", "must be from 0 to 10000, got %d", n)
	}
	return nil
}

// ScaleService sets the number of containers the service ref names runs.
// rev > 0 is the revision the service must be at. It refuses an actor
// without Apps Write, a count outside 0..10000, a service being removed
// and an EVERY_NODE service (conflicts). Scaling to the count it has
// writes nothing.
func (d *Domain) ScaleService(ctx context.Context, a Actor, ref string, replicas int, rev int64) (*api.Service, error) {
	if err := a.need(AppsOperate); err != nil {
		return nil, err
	}
	n := replicas
	if err := ValidateReplicas(n); err != nil {
		return nil, err
	}
	unlock, quotas, err := d.quotaGuard(ctx, a)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return d.modifyService(ctx, a, ref, rev, func(svc *api.Service) ([]api.Event, error) {
		switch {
		case svc.Terminating:
			return nil, terminatingErr(svc)
		case svc.Spec.Strategy == api.StrategyEveryNode:
			return nil, newErr(errdefs.ErrConflict, "service %q: an EVERY_NODE service runs one container per matching node; it cannot be scaled by hand", svc.Name)
		case svc.Spec.Standalone:
			return nil, newErr(errdefs.ErrConflict, "service %q is a standalone container (made with docker run or docker create); it runs exactly one container and cannot be scaled", svc.Name)
		case svc.Spec.Replicas == n:
			return nil, store.ErrNoChange
		}
		if err := d.checkContainerQuota(ctx, a, quotas, map[string]int{svc.ID: n}); err != nil {
			return nil, err
		}
		old := svc.Spec.Replicas
		svc.Spec.Replicas = n
		return []api.Event{serviceEvent(svc, fmt.Sprintf("scaled from %d to %d replicas", old, n))}, nil
	})
}

// SetServiceRunning starts (running) or stops the service ref names; rev
// > 0 is the revision it must be at. It refuses an actor without Apps
// Write and a service being removed (a conflict). A service already so
// is left as it is.
func (d *Domain) SetServiceRunning(ctx context.Context, a Actor, ref string, running bool, rev int64) (*api.Service, error) {
	if err := a.need(AppsOperate); err != nil {
		return nil, err
	}
	return d.modifyService(ctx, a, ref, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, terminatingErr(svc)
		}
		ev, err := setRunningTo(svc, running, "")
		return []api.Event{ev}, err
	})
}

// RemoveService marks the service ref names Terminating; the service
// controller removes its containers, then the service and its name index.
// rev > 0 is the revision it must be at. It refuses an actor without Apps
// Write. A service already being removed is left as it is.
func (d *Domain) RemoveService(ctx context.Context, a Actor, ref string, rev int64) (*api.Service, error) {
	if err := a.need(AppsDeploy); err != nil {
		return nil, err
	}
	return d.modifyService(ctx, a, ref, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, store.ErrNoChange
		}
		return []api.Event{terminate(svc, "")}, nil
	})
}

// RedeployService raises the RestartGeneration of the service ref names,
// and the service controller replaces its containers one slot at a time,
// each stopped before its new run starts (on the same node when it still
// fits). Slots that autodestroy emptied run again. rev > 0 is the
// revision it must be at. It refuses an actor without Apps Write, and a
// service being removed or stopped (conflicts: a stopped service must be
// started instead).
func (d *Domain) RedeployService(ctx context.Context, a Actor, ref string, rev int64) (*api.Service, error) {
	if err := a.need(AppsOperate); err != nil {
		return nil, err
	}
	pn := d.newPinner(a)
	return d.modifyService(ctx, a, ref, rev, func(svc *api.Service) ([]api.Event, error) {
		switch {
		case svc.Terminating:
			return nil, terminatingErr(svc)
		case !svc.Spec.Running:
			return nil, newErr(errdefs.ErrConflict, "service %q is stopped; start it with `wharf service start %s`", svc.Name, svc.Name)
		}
		// A redeploy resolves the tag anew: a moved tag is picked up.
		if err := pn.repin(ctx, svc); err != nil {
			return nil, err
		}
		return []api.Event{rerun(svc, "restart requested")}, nil
	})
}
