package apiserver

// The /v1/services routes: each decodes its request, calls the domain
// layer and encodes the answer.

import (
	"encoding/json"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

type createServiceRequest struct {
	Name string          `json:"name"`
	Spec api.ServiceSpec `json:"spec"`
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	var req createServiceRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	svc, err := s.d.CreateService(r.Context(), actorOf(r), req.Name, req.Spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/services/"+svc.ID)
	writeJSON(w, http.StatusCreated, svc)
	return nil
}

// listServices serves GET /v1/services, ?stack= keeping one stack's. An
// unfiltered page is copied through from the store as it is.
func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	ref := r.URL.Query().Get("stack")
	p, err := parsePage(r)
	if err != nil {
		if ref != "" {
			// An unknown stack is reported before a bad page.
			if _, serr := s.d.GetStack(r.Context(), actorOf(r), ref); serr != nil {
				return serr
			}
		}
		return err
	}
	if ref == "" {
		raw, err := s.d.ListServicesRaw(r.Context(), actorOf(r), p.domain())
		if err != nil {
			return err
		}
		return writeRawPage(w, r, store.KindServices, raw)
	}
	l, err := s.d.ListServices(r.Context(), actorOf(r), ref, p.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.d.GetService(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
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
	// The body's errors come before the If-Match header's, as ever.
	if err := domain.ValidateReplicas(*req.Replicas); err != nil {
		return err
	}
	rev, err := ifMatchOr(r, req.Revision)
	if err != nil {
		return err
	}
	svc, err := s.d.ScaleService(r.Context(), actorOf(r), r.PathValue("id"), *req.Replicas, rev)
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
	svc, err := s.d.SetServiceRunning(r.Context(), actorOf(r), r.PathValue("id"), running, rev)
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
	svc, err := s.d.RemoveService(r.Context(), actorOf(r), r.PathValue("id"), rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, svc)
	return nil
}

// restartService serves POST /v1/services/{id}/restart (and /redeploy):
// the service's containers run again one slot at a time. 202 Accepted.
func (s *Server) restartService(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	svc, err := s.d.RedeployService(r.Context(), actorOf(r), r.PathValue("id"), rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, svc)
	return nil
}

type updateServiceRequest struct {
	Spec     json.RawMessage `json:"spec"`
	Revision int64           `json:"revision,omitempty"`
}

// updateService serves PATCH /v1/services/{id} {"spec":{...}}: the fields
// present replace the service's (see domain.UpdateService). If-Match (or
// "revision") guards the write.
func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	var req updateServiceRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	// The body's errors come before the If-Match header's, as ever.
	if err := domain.ValidateServicePatch(req.Spec); err != nil {
		return err
	}
	rev, err := ifMatchOr(r, req.Revision)
	if err != nil {
		return err
	}
	svc, err := s.d.UpdateService(r.Context(), actorOf(r), r.PathValue("id"), req.Spec, rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}
