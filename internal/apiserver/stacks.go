package apiserver

// The /v1/stacks routes: deploy (create or update to a spec, in one store
// transaction), read with a status summed up from the services, stop,
// start, redeploy and remove.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// stackAttempts bounds the re-reads of a stack write that met a concurrent
// writer.
const stackAttempts = 5

func stackNameKey(name string) string { return "stacks." + name }

// resolveStack finds a stack by ID, then by name.
func (s *Server) resolveStack(ctx context.Context, ref string) (*api.Stack, error) {
	return resolve[api.Stack](ctx, s.st, store.KindStacks, "stack", stackNameKey, ref)
}

// stackServices lists the services whose Stack is id.
func (s *Server) stackServices(ctx context.Context, id string) ([]*api.Service, error) {
	all, _, err := store.ListAll[api.Service](ctx, s.st, store.KindServices)
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
// (one is), Stopping (one is), Stopped (all are), Running (all are),
// Partly running (some run), Starting (one is), else Not running.
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

// deployStack serves PUT /v1/stacks/{name}: it creates or updates the
// stack to the spec, all in one transaction, or with dry_run only plans.
func (s *Server) deployStack(w http.ResponseWriter, r *http.Request) error {
	var req api.DeployStackRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	name := r.PathValue("id")
	spec, err := normalizeStackSpec(req.Spec)
	if err != nil {
		return errdefs.Invalid("spec", "cannot read the stack spec: %v", err)
	}
	// A dry run plans without the secrets: the CLI creates a stack's
	// secrets only when it deploys for real.
	for i := range spec.Services {
		if req.DryRun {
			break
		}
		if err := s.d.CheckSecretRefs(r.Context(), actorOf(r), &spec.Services[i].Spec, stackServiceField(i)+".spec"); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		res, err := s.deployOnce(r, name, spec, req.DryRun)
		retry := errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound)
		switch {
		case err == nil:
			code := http.StatusOK
			if res.Created && !res.DryRun {
				code = http.StatusCreated
				w.Header().Set("Location", "/v1/stacks/"+res.Stack.ID)
			}
			writeJSON(w, code, res)
			return nil
		case errors.Is(err, store.ErrTooManyOps):
			return errdefs.Invalid("spec.services", "this deploy is too large for one transaction (%v): deploy fewer changes at once", err)
		case retry && attempt < stackAttempts:
			continue
		case retry:
			return newErr(errdefs.ErrConflict, "stack %q changed while this deploy was writing it; retry", name)
		}
		return err
	}
}

// deployOnce reads the stack and the services, plans and, unless dryRun or
// nothing changes, commits. Store conflicts come back as they are, to be
// retried.
func (s *Server) deployOnce(r *http.Request, name string, spec api.StackSpec, dryRun bool) (api.DeployStackResult, error) {
	ctx := r.Context()
	// Services first, then the stack: a stack and its services are made in
	// one transaction, so a stack read after the list is never older than
	// it. Read the other way round, a concurrent first deploy could show
	// its services but not its stack, and they would look like a name clash.
	services, _, err := store.ListAll[api.Service](ctx, s.st, store.KindServices)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	st, err := s.resolveStackByName(ctx, name)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	created := st == nil
	if created {
		st = &api.Stack{Meta: api.Meta{ID: newID(), Name: name}}
	} else {
		setObject(r, st.ID)
	}
	p, err := planStack(st, spec, services)
	if err != nil {
		return api.DeployStackResult{}, err
	}
	specChanged := created || !sameJSON(st.Spec, spec)
	st.Spec = spec
	st.Status = api.StackStatus{}
	res := api.DeployStackResult{Plan: p.entries, DryRun: dryRun, Created: created}
	if dryRun || (!specChanged && !p.changed()) {
		res.Stack = *st
		res.Stack.Status = stackStatus(st, p.after)
		return res, nil
	}
	setObject(r, st.ID)
	t := s.st.Txn()
	if created {
		t.Create(store.KindStacks, st)
		t.Create(store.KindNames, &nameIndex{api.Meta{ID: stackNameKey(name), Name: st.ID}})
		t.Emit(api.Event{Kind: "stack", Object: st.ID, Name: name, Type: "created",
			Message: fmt.Sprintf("stack %s created with %d services", name, len(spec.Services))})
	} else {
		t.Update(store.KindStacks, st)
		t.Emit(api.Event{Kind: "stack", Object: st.ID, Name: name, Type: "updated", Message: "stack " + name + " deployed: " + planSummary(p.entries)})
	}
	for _, svc := range p.create {
		t.Create(store.KindServices, svc)
		t.Create(store.KindNames, &nameIndex{api.Meta{ID: serviceNameKey(svc.Name), Name: svc.ID}})
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
func (s *Server) resolveStackByName(ctx context.Context, name string) (*api.Stack, error) {
	var idx nameIndex
	if err := s.st.Get(ctx, store.KindNames, stackNameKey(name), &idx); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	var st api.Stack
	if err := s.st.Get(ctx, store.KindStacks, idx.Name, &st); err != nil {
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

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	all, _, err := store.ListAll[api.Service](r.Context(), s.st, store.KindServices)
	if err != nil {
		return err
	}
	byStack := map[string][]*api.Service{}
	for _, svc := range all {
		if svc.Stack != "" {
			byStack[svc.Stack] = append(byStack[svc.Stack], svc)
		}
	}
	l, err := listPage[api.Stack](r.Context(), s.st, store.KindStacks, p, func(st *api.Stack) bool {
		st.Status = stackStatus(st, byStack[st.ID])
		return true
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getStack(w http.ResponseWriter, r *http.Request) error {
	st, err := s.resolveStack(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	services, err := s.stackServices(r.Context(), st.ID)
	if err != nil {
		return err
	}
	st.Status = stackStatus(st, services)
	writeJSON(w, http.StatusOK, st)
	return nil
}

// stackChange is what a stack verb does to one service of the stack: the
// event to emit, or store.ErrNoChange to leave it.
type stackChange func(svc *api.Service) (api.Event, error)

// modifyStack applies change to every service of the stack the path
// names (by ID or name) that is not being removed, in one transaction,
// re-read and retried on a conflict. With remove it also deletes the stack
// and its name index. It returns the stack and its services after.
func (s *Server) modifyStack(r *http.Request, change stackChange, remove bool) (*api.Stack, []*api.Service, error) {
	ctx := r.Context()
	ref := r.PathValue("id")
	for attempt := 1; ; attempt++ {
		st, err := s.resolveStack(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		setObject(r, st.ID)
		services, err := s.stackServices(ctx, st.ID)
		if err != nil {
			return nil, nil, err
		}
		t := s.st.Txn()
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
			t.Delete(store.KindNames, stackNameKey(st.Name), 0)
			t.Emit(api.Event{Kind: "stack", Object: st.ID, Name: st.Name, Type: "deleted", State: string(api.ServiceTerminating),
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

func (s *Server) stopStack(w http.ResponseWriter, r *http.Request) error {
	return s.setStackRunning(w, r, false)
}

func (s *Server) startStack(w http.ResponseWriter, r *http.Request) error {
	return s.setStackRunning(w, r, true)
}

// setStackRunning stops or starts every service of a stack, as
// setRunning does one.
func (s *Server) setStackRunning(w http.ResponseWriter, r *http.Request, running bool) error {
	st, _, err := s.modifyStack(r, func(svc *api.Service) (api.Event, error) {
		return setRunningTo(svc, running, " by its stack")
	}, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// redeployStack runs every container of each running service of a stack
// again, as restartService does one; stopped services are left stopped.
// 202, or 409 when no service runs.
func (s *Server) redeployStack(w http.ResponseWriter, r *http.Request) error {
	st, after, err := s.modifyStack(r, func(svc *api.Service) (api.Event, error) {
		if !svc.Spec.Running {
			return api.Event{}, store.ErrNoChange
		}
		return rerun(svc, "redeploy requested by its stack"), nil
	}, false)
	if err != nil {
		return err
	}
	running := 0
	for _, svc := range after {
		if svc.Spec.Running && !svc.Terminating {
			running++
		}
	}
	if running == 0 {
		return newErr(errdefs.ErrConflict, "stack %q has no running service; start it with `wharf stack start %s`", st.Name, st.Name)
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

// deleteStack marks every service of a stack Terminating, as deleteService
// does one, and deletes the stack and its name index, in one transaction;
// the service controller then removes the containers and the services.
// 202 with the stack as it was, Terminating.
func (s *Server) deleteStack(w http.ResponseWriter, r *http.Request) error {
	st, _, err := s.modifyStack(r, func(svc *api.Service) (api.Event, error) {
		return terminate(svc, " by its stack"), nil
	}, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}
