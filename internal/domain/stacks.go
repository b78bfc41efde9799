package domain

// The stack operations: deploy (create or update to a spec, in one store
// transaction), read with a status summed up from the services, stop,
// start, redeploy and remove.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// stackAttempts bounds the re-reads of a stack write that met a concurrent
// writer.
const stackAttempts = 5

// resolveStack finds a stack of the actor's organization by ID, then by
// name.
func (d *Domain) resolveStack(ctx context.Context, a Actor, ref string) (*api.Stack, error) {
	return resolve[api.Stack](ctx, d.st, a, store.KindStacks, "stack", stackNameKey, ref)
}

// stackServices lists the services whose Stack is id.
func (d *Domain) stackServices(ctx context.Context, id string) ([]*api.Service, error) {
	all, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return nil, err
	}
	var out []*api.Service
	for _, svc := range all {
		if svc.Stack == id {
			out = append(out, svc)
		}
	}
	return out, nil
}

// stackStatus sums up a stack's services (those not being removed, unless
// all are). State, first rule that applies: Terminating (the stack or all
// its services are being removed), Not running (no services), Redeploying
// (one is), Stopping (one is), Stopped (all are), Failing (one is),
// Running (all are), Partly running (some run), Starting (one is), else
// Not running.
func stackStatus(st *api.Stack, services []*api.Service) api.StackStatus {
	var live []*api.Service
	for _, svc := range services {
		if !svc.Terminating {
			live = append(live, svc)
		}
	}
	out := api.StackStatus{Services: len(live)}
	count := map[api.ServiceState]int{}
	for _, svc := range live {
		count[svc.Status.State]++
	}
	out.Running = count[api.ServiceRunning]
	n := len(live)
	switch {
	case st.Terminating || (n == 0 && len(services) > 0):
		out.State = api.ServiceTerminating
	case n == 0:
		out.State = api.ServiceNotRunning
	case count[api.ServiceRedeploying] > 0:
		out.State = api.ServiceRedeploying
	case count[api.ServiceStopping] > 0:
		out.State = api.ServiceStopping
	case count[api.ServiceStopped] == n:
		out.State = api.ServiceStopped
	case count[api.ServiceFailing] > 0:
		out.State = api.ServiceFailing
	case out.Running == n:
		out.State = api.ServiceRunning
	case out.Running+count[api.ServicePartlyRunning]+count[api.ServiceScaling] > 0:
		out.State = api.ServicePartlyRunning
	case count[api.ServiceStarting] > 0:
		out.State = api.ServiceStarting
	default:
		out.State = api.ServiceNotRunning
	}
	return out
}

// DeployStack creates or updates the stack named name to spec, all in one
// transaction, or with dryRun only plans. The result's Created says
// whether the stack is new. A concurrent writer is met with a re-read and
// a retry, up to stackAttempts. It refuses an actor without Apps Write
// (even for a dry run), a bad name or spec, services it would take from
// outside the stack or that are being removed (conflicts), and a deploy
// too large for one transaction.
func (d *Domain) DeployStack(ctx context.Context, a Actor, name string, spec api.StackSpec, dryRun bool) (api.DeployStackResult, error) {
	if err := a.need(AppsDeploy); err != nil {
		return api.DeployStackResult{}, err
	}
	spec, err := normalizeStackSpec(spec)
	if err != nil {
		return api.DeployStackResult{}, errdefs.Invalid("spec", "cannot read the stack spec: %v", err)
	}
	// A dry run plans without the secrets: the CLI creates a stack's
	// secrets only when it deploys for real.
	for i := range spec.Services {
		if dryRun {
			break
		}
		if err := d.CheckSecretRefs(ctx, a, &spec.Services[i].Spec, stackServiceField(i)+".spec"); err != nil {
			return api.DeployStackResult{}, err
		}
	}
	unlock, quotas, err := d.quotaGuard(ctx, a)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		res, err := d.deployOnce(ctx, a, quotas, name, spec, dryRun)
		retry := errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound)
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, store.ErrTooManyOps):
			return api.DeployStackResult{}, errdefs.Invalid("spec.services", "this deploy is too large for one transaction (%v): deploy fewer changes at once", err)
		case retry && attempt < stackAttempts:
			continue
		case retry:
			return api.DeployStackResult{}, newErr(errdefs.ErrConflict, "stack %q changed while this deploy was writing it; retry", name)
		}
		return api.DeployStackResult{}, err
	}
}

// deployOnce reads the stack and the services, plans and, unless dryRun or
// nothing changes, commits. Store conflicts come back as they are, to be
// retried.
func (d *Domain) deployOnce(ctx context.Context, a Actor, quotas api.Quotas, name string, spec api.StackSpec, dryRun bool) (api.DeployStackResult, error) {
	// Services first, then the stack: a stack and its services are made in
	// one transaction, so a stack read after the list is never older than
	// it. Read the other way round, a concurrent first deploy could show
	// its services but not its stack, and they would look like a name clash.
	all, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	// Names are the organization's: only its services can clash.
	services := make([]*api.Service, 0, len(all))
	for _, svc := range all {
		if a.owns(&svc.Meta) {
			services = append(services, svc)
		}
	}
	st, err := d.resolveStackByName(ctx, a, name)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	created := st == nil
	if created {
		st = &api.Stack{Meta: api.Meta{ID: newID(), Name: name, Org: a.orgOf()}}
	} else {
		noteObject(ctx, st.ID)
	}
	p, err := planStack(st, spec, services)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	if err := d.checkContainerQuota(ctx, a, quotas, p.replicas(), p.newContainers()...); err != nil {
		return api.DeployStackResult{}, err
	}
	if !dryRun {
		// Pin new services' images, and changed ones (pin.go): a failure
		// refuses the whole deploy before anything is written.
		pn := d.newPinner(a)
		for _, svc := range append(slices.Clone(p.create), p.update...) {
			if err := pn.refresh(ctx, svc); err != nil {
				return api.DeployStackResult{}, err
			}
		}
	}
	nets, err := d.stackNetworks(ctx, a, spec)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	specChanged := created || !sameJSON(st.Spec, spec)
	st.Spec = spec
	st.Status = api.StackStatus{}
	res := api.DeployStackResult{Plan: p.entries, DryRun: dryRun, Created: created}
	for _, n := range nets {
		res.Networks = append(res.Networks, *n)
	}
	if dryRun || (!specChanged && !p.changed() && len(nets) == 0) {
		res.Stack = *st
		res.Stack.Status = stackStatus(st, p.after)
		return res, nil
	}
	noteObject(ctx, st.ID)
	t := d.st.Txn()
	if created {
		t.Create(store.KindStacks, st)
		t.Create(store.KindNames, &nameIndex{api.Meta{ID: stackNameKey(st.Org, name), Name: st.ID, Org: st.Org}})
		t.Emit(api.Event{Kind: "stack", Object: st.ID, Name: name, Type: "created",
			Message: fmt.Sprintf("stack %s created with %d services", name, len(spec.Services))})
	} else {
		t.Update(store.KindStacks, st)
		t.Emit(api.Event{Kind: "stack", Object: st.ID, Name: name, Type: "updated", Message: "stack " + name + " deployed: " + planSummary(p.entries)})
	}
	for _, n := range nets {
		netalloc.Create(t, n)
		t.Emit(networkEvent(n, "created", fmt.Sprintf("created by stack %s: %s, gateway %s, VXLAN ID %d", name, n.Subnet, n.Gateway, n.VNI)))
	}
	for _, svc := range p.create {
		t.Create(store.KindServices, svc)
		t.Create(store.KindNames, &nameIndex{api.Meta{ID: serviceNameKey(svc.Org, svc.Name), Name: svc.ID, Org: svc.Org}})
	}
	for _, svc := range p.update {
		t.Update(store.KindServices, svc)
	}
	for _, svc := range p.remove {
		t.Update(store.KindServices, svc)
	}
	t.Emit(p.events...)
	if err := t.Commit(ctx); err != nil {
		return api.DeployStackResult{}, err
	}
	res.Stack = *st
	res.Stack.Status = stackStatus(st, p.after)
	return res, nil
}

// resolveStackByName reads the stack named name, nil when there is none.
// An index without its stack is a stack being removed: an error, and a
// retry finds neither.
func (d *Domain) resolveStackByName(ctx context.Context, a Actor, name string) (*api.Stack, error) {
	var idx nameIndex
	if err := d.st.Get(ctx, store.KindNames, stackNameKey(a.orgOf(), name), &idx); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	var st api.Stack
	if err := d.st.Get(ctx, store.KindStacks, idx.Name, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// planSummary counts a plan's actions: "1 create, 2 update, 3 unchanged".
func planSummary(entries []api.PlanEntry) string {
	n := map[string]int{}
	for _, e := range entries {
		n[e.Action]++
	}
	out := ""
	for _, a := range []string{api.PlanCreate, api.PlanUpdate, api.PlanRemove, api.PlanUnchanged} {
		if n[a] == 0 {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%d %s", n[a], a)
	}
	return out
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	return compactJSON(jsonTree(a)) == compactJSON(jsonTree(b))
}

// ListStacks reads a page of stacks, each with its status summed up from
// its services. It refuses an actor without Apps Read and a bad page.
func (d *Domain) ListStacks(ctx context.Context, a Actor, p Page) (api.List[api.Stack], error) {
	if err := a.need(AppsView); err != nil {
		return api.List[api.Stack]{}, err
	}
	if err := p.check(); err != nil {
		return api.List[api.Stack]{}, err
	}
	all, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return api.List[api.Stack]{}, err
	}
	byStack := map[string][]*api.Service{}
	for _, svc := range all {
		if svc.Stack != "" {
			byStack[svc.Stack] = append(byStack[svc.Stack], svc)
		}
	}
	return listPage[api.Stack](ctx, d.st, store.KindStacks, p, func(st *api.Stack) bool {
		st.Status = stackStatus(st, byStack[st.ID])
		return a.owns(&st.Meta)
	})
}

// GetStack reads the stack ref names (its ID or name) with its status
// summed up from its services. It refuses an actor without Apps Read.
func (d *Domain) GetStack(ctx context.Context, a Actor, ref string) (*api.Stack, error) {
	if err := a.need(AppsView); err != nil {
		return nil, err
	}
	st, err := d.resolveStack(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	services, err := d.stackServices(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	st.Status = stackStatus(st, services)
	return st, nil
}

// stackChange is what a stack verb does to one service of the stack: the
// event to emit, or store.ErrNoChange to leave it.
type stackChange func(svc *api.Service) (api.Event, error)

// modifyStack applies change to every service of the stack ref names (by
// ID or name) that is not being removed, in one transaction, re-read and
// retried on a conflict. With remove it also deletes the stack and its
// name index. It returns the stack and its services after.
func (d *Domain) modifyStack(ctx context.Context, a Actor, ref string, change stackChange, remove bool) (*api.Stack, []*api.Service, error) {
	for attempt := 1; ; attempt++ {
		st, err := d.resolveStack(ctx, a, ref)
		if err != nil {
			return nil, nil, err
		}
		noteObject(ctx, st.ID)
		services, err := d.stackServices(ctx, st.ID)
		if err != nil {
			return nil, nil, err
		}
		t := d.st.Txn()
		after := make([]*api.Service, 0, len(services))
		for _, cur := range services {
			svc := *cur
			after = append(after, &svc)
			if svc.Terminating {
				continue
			}
			ev, err := change(&svc)
			if errors.Is(err, store.ErrNoChange) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			t.Update(store.KindServices, &svc)
			t.Emit(ev)
		}
		if remove {
			t.Delete(store.KindStacks, st.ID, st.Revision)
			t.Delete(store.KindNames, stackNameKey(st.Org, st.Name), 0)
			t.Emit(api.Event{Kind: "stack", Object: st.ID, Org: st.Org, Name: st.Name, Type: "deleted", State: string(api.ServiceTerminating),
				Message: fmt.Sprintf("stack %s removed: its %d services are being removed", st.Name, len(services))})
			st.Terminating = true
		}
		err = t.Commit(ctx)
		switch {
		case err == nil:
			st.Status = stackStatus(st, after)
			return st, after, nil
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
			if attempt < stackAttempts {
				continue
			}
			return nil, nil, newErr(errdefs.ErrConflict, "stack %q changed while this request was writing it; retry", ref)
		}
		return nil, nil, err
	}
}

// SetStackRunning starts (running) or stops every service of the stack
// ref names, as SetServiceRunning does one, in one transaction. It
// refuses an actor without Apps Write.
func (d *Domain) SetStackRunning(ctx context.Context, a Actor, ref string, running bool) (*api.Stack, error) {
	if err := a.need(AppsOperate); err != nil {
		return nil, err
	}
	st, _, err := d.modifyStack(ctx, a, ref, func(svc *api.Service) (api.Event, error) {
		return setRunningTo(svc, running, " by its stack")
	}, false)
	return st, err
}

// RedeployStack runs every container of each running service of the
// stack ref names again, as RedeployService does one; stopped services
// are left stopped. It refuses an actor without Apps Write, and a stack
// with no running service (a conflict, after writing nothing).
func (d *Domain) RedeployStack(ctx context.Context, a Actor, ref string) (*api.Stack, error) {
	if err := a.need(AppsOperate); err != nil {
		return nil, err
	}
	pn := d.newPinner(a)
	st, after, err := d.modifyStack(ctx, a, ref, func(svc *api.Service) (api.Event, error) {
		if !svc.Spec.Running {
			return api.Event{}, store.ErrNoChange
		}
		// A redeploy resolves tags anew (pin.go).
		if err := pn.repin(ctx, svc); err != nil {
			return api.Event{}, err
		}
		return rerun(svc, "redeploy requested by its stack"), nil
	}, false)
	if err != nil {
		return nil, err
	}
	running := 0
	for _, svc := range after {
		if svc.Spec.Running && !svc.Terminating {
			running++
		}
	}
	if running == 0 {
		return nil, newErr(errdefs.ErrConflict, "stack %q has no running service; start it with `wharf stack start %s`", st.Name, st.Name)
	}
	return st, nil
}

// RemoveStack marks every service of the stack ref names Terminating, as
// RemoveService does one, and deletes the stack and its name index, in
// one transaction; the service controller then removes the containers and
// the services. It returns the stack as it was, Terminating. It refuses
// an actor without Apps Write.
func (d *Domain) RemoveStack(ctx context.Context, a Actor, ref string) (*api.Stack, error) {
	if err := a.need(AppsDeploy); err != nil {
		return nil, err
	}
	st, _, err := d.modifyStack(ctx, a, ref, func(svc *api.Service) (api.Event, error) {
		return terminate(svc, " by its stack"), nil
	}, true)
	return st, err
}
