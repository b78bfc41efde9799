package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func serviceNameKey(name string) string { return "services." + name }

// resolveService finds a service by ID, then by name.
func (s *Server) resolveService(ctx context.Context, ref string) (*api.Service, error) {
	return resolve[api.Service](ctx, s.st, store.KindServices, "service", serviceNameKey, ref)
}

type createServiceRequest struct {
	Name string          `json:"name"`
	Spec api.ServiceSpec `json:"spec"`
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	var req createServiceRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if !serviceNameRE.MatchString(req.Name) {
		return errdefs.Invalid("name", "service name %q must match %s", req.Name, serviceNameRE)
	}
	if err := validateSpec(&req.Spec); err != nil {
		return err
	}
	if err := validateDependsOn(&req.Spec, req.Name); err != nil {
		return err
	}
	if err := s.d.CheckSecretRefs(r.Context(), actorOf(r), &req.Spec, "spec"); err != nil {
		return err
	}
	svc := api.Service{
		Meta:   api.Meta{ID: newID(), Name: req.Name},
		Spec:   req.Spec,
		Status: api.ServiceStatus{State: api.ServiceNotRunning},
	}
	svc.Spec.Running = true
	setObject(r, svc.ID)
	t := s.st.Txn()
	t.Create(store.KindServices, &svc)
	t.Create(store.KindNames, &nameIndex{api.Meta{ID: serviceNameKey(svc.Name), Name: svc.ID}})
	t.Emit(api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "created", State: string(svc.Status.State),
		Message: fmt.Sprintf("service %s created with %d replicas", svc.Name, svc.Spec.Replicas)})
	if err := t.Commit(r.Context()); err != nil {
		if errors.Is(err, store.ErrExists) {
			return newErr(errdefs.ErrConflict, "a service named %q already exists", req.Name)
		}
		return err
	}
	w.Header().Set("Location", "/v1/services/"+svc.ID)
	writeJSON(w, http.StatusCreated, svc)
	return nil
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	var keep func(*api.Service) bool
	if ref := r.URL.Query().Get("stack"); ref != "" {
		st, err := s.resolveStack(r.Context(), ref)
		if err != nil {
			return err
		}
		keep = func(svc *api.Service) bool { return svc.Stack == st.ID }
	}
	return listHandler[api.Service](s, store.KindServices, keep)(w, r)
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.resolveService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

// serviceEvent is an "updated" event about a service.
func serviceEvent(svc *api.Service, msg string) api.Event {
	return api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "updated", Message: "service " + svc.Name + " " + msg}
}

// modifyService applies fn to the service the path names (by ID or name);
// see modify.
func (s *Server) modifyService(r *http.Request, rev int64, fn func(*api.Service) ([]api.Event, error)) (*api.Service, error) {
	ref := r.PathValue("id")
	svc, err := s.resolveService(r.Context(), ref)
	if err != nil {
		return nil, err
	}
	setObject(r, svc.ID)
	return modify(r.Context(), s.st, store.KindServices, "service", svc.ID, rev, fn)
}

func terminatingErr(svc *api.Service) error {
	return newErr(errdefs.ErrConflict, "service %q is being removed", svc.Name)
}

type scaleRequest struct {
	Replicas *int  `json:"replicas"`
	Revision int64 `json:"revision,omitempty"`
}

func (s *Server) scaleService(w http.ResponseWriter, r *http.Request) error {
	var req scaleRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Replicas == nil {
		return errdefs.Invalid("replicas", "required: the number of containers to run")
	}
	n := *req.Replicas
	if n < 0 || n > 10000 {
		return errdefs.Invalid("replicas", "must be from 0 to 10000, got %d", n)
	}
	rev, err := ifMatchOr(r, req.Revision)
	if err != nil {
		return err
	}
	svc, err := s.modifyService(r, rev, func(svc *api.Service) ([]api.Event, error) {
		switch {
		case svc.Terminating:
			return nil, terminatingErr(svc)
		case svc.Spec.Strategy == api.StrategyEveryNode:
			return nil, newErr(errdefs.ErrConflict, "service %q: an EVERY_NODE service runs one container per matching node; it cannot be scaled by hand", svc.Name)
		case svc.Spec.Replicas == n:
			return nil, store.ErrNoChange
		}
		old := svc.Spec.Replicas
		svc.Spec.Replicas = n
		return []api.Event{serviceEvent(svc, fmt.Sprintf("scaled from %d to %d replicas", old, n))}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

func (s *Server) stopService(w http.ResponseWriter, r *http.Request) error {
	return s.setRunning(w, r, false)
}

func (s *Server) startService(w http.ResponseWriter, r *http.Request) error {
	return s.setRunning(w, r, true)
}

func (s *Server) setRunning(w http.ResponseWriter, r *http.Request, running bool) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	svc, err := s.modifyService(r, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, terminatingErr(svc)
		}
		ev, err := setRunningTo(svc, running, "")
		return []api.Event{ev}, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

// deleteService marks a service Terminating; the service controller removes
// its containers, then the service and its name index. 202 Accepted.
func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	svc, err := s.modifyService(r, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, store.ErrNoChange
		}
		return []api.Event{terminate(svc, "")}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, svc)
	return nil
}

// restartService serves POST /v1/services/{id}/restart: it raises the
// service's RestartGeneration, and the service controller replaces its
// containers one slot at a time, each stopped before its new run starts
// (on the same node when it still fits). Slots that autodestroy emptied
// run again. A stopped service must be started instead.
func (s *Server) restartService(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	svc, err := s.modifyService(r, rev, func(svc *api.Service) ([]api.Event, error) {
		switch {
		case svc.Terminating:
			return nil, terminatingErr(svc)
		case !svc.Spec.Running:
			return nil, newErr(errdefs.ErrConflict, "service %q is stopped; start it with `wharf service start %s`", svc.Name, svc.Name)
		}
		return []api.Event{rerun(svc, "restart requested")}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, svc)
	return nil
}
