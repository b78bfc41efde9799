package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

type updateServiceRequest struct {
	Spec     json.RawMessage `json:"spec"`
	Revision int64           `json:"revision,omitempty"`
}

// updateService serves PATCH /v1/services/{id} {"spec":{...}}: the fields
// present replace the service's (env, ports and other lists and maps
// whole); "running" cannot be set here. A change to anything but replicas
// and the update config starts a rollout: the old spec is kept as
// PreviousSpec and the generation raised, and the controller replaces the
// containers per spec.update. If-Match (or "revision") guards the write.
func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	var req updateServiceRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if len(req.Spec) == 0 || bytes.Equal(req.Spec, []byte("null")) {
		return errdefs.Invalid("spec", "required: the spec fields to change, e.g. {\"spec\":{\"image\":\"nginx:1.27\"}}")
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(req.Spec, &present); err != nil {
		return errdefs.Invalid("spec", "must be a JSON object: %v", err)
	}
	if _, ok := present["running"]; ok {
		return errdefs.Invalid("spec.running", "use POST /v1/services/{id}/start or /stop to start or stop a service")
	}
	rev, err := ifMatchOr(r, req.Revision)
	if err != nil {
		return err
	}
	svc, err := s.modifyService(r, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, terminatingErr(svc)
		}
		next, err := patchSpec(svc.Spec, req.Spec, present)
		if err != nil {
			return nil, err
		}
		if err := validateSpec(&next); err != nil {
			return nil, err
		}
		if err := validateDependsOn(&next, svc.Name); err != nil {
			return nil, err
		}
		if err := s.d.CheckSecretRefs(r.Context(), actorOf(r), &next, "spec"); err != nil {
			return nil, err
		}
		if reflect.DeepEqual(next, svc.Spec) {
			return nil, store.ErrNoChange
		}
		return []api.Event{setSpec(svc, next, "")}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

// patchSpec applies the fields of raw (present names them) to spec.
func patchSpec(spec api.ServiceSpec, raw json.RawMessage, present map[string]json.RawMessage) (api.ServiceSpec, error) {
	next := spec
	// A map named in the patch is replaced, not merged (lists always are).
	if _, ok := present["env"]; ok {
		next.Env = nil
	}
	if _, ok := present["healthcheck"]; ok {
		next.Healthcheck = nil
	}
	if _, ok := present["update"]; ok {
		next.Update = api.UpdateConfig{}
	}
	if _, ok := present["rollback"]; ok {
		next.Rollback = nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return spec, errdefs.Invalid("spec", "cannot apply the patch: %v", err)
	}
	return next, nil
}

// needsRollout: the containers must change, not only their number, the
// way they are replaced or what their starts wait for (depends_on).
func needsRollout(a, b api.ServiceSpec) bool {
	a.Replicas, b.Replicas = 0, 0
	a.DependsOn, b.DependsOn = nil, nil
	a.Update, b.Update = api.UpdateConfig{}, api.UpdateConfig{}
	a.Rollback, b.Rollback = nil, nil
	a.Sequential, b.Sequential = false, false
	return !reflect.DeepEqual(a, b)
}
