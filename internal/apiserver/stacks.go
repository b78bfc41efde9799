package apiserver

// The /v1/stacks routes: each decodes its request, calls the domain layer
// and encodes the answer.

import (
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// deployStack serves PUT /v1/stacks/{name}: it creates or updates the
// stack to the spec (or to the compose file's text, which the domain
// loads reading nothing of the server's), all in one transaction, or with
// dry_run only plans.
// 201 with a Location when it created the stack, else 200.
func (s *Server) deployStack(w http.ResponseWriter, r *http.Request) error {
	var req api.DeployStackRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	var res api.DeployStackResult
	if req.Compose != "" {
		if len(req.Spec.Services) > 0 {
			return errdefs.Invalid("compose", "send either spec or compose, not both")
		}
		cd, err := s.d.DeployComposeText(r.Context(), actorOf(r), r.PathValue("id"), "compose.yaml", []byte(req.Compose), req.Variables, req.DryRun)
		if err != nil {
			return err
		}
		res = cd.Result
	} else {
		var err error
		if res, err = s.d.DeployStack(r.Context(), actorOf(r), r.PathValue("id"), req.Spec, req.DryRun); err != nil {
			return err
		}
	}
	code := http.StatusOK
	if res.Created && !res.DryRun {
		code = http.StatusCreated
		w.Header().Set("Location", "/v1/stacks/"+res.Stack.ID)
	}
	writeJSON(w, code, res)
	return nil
}

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	l, err := s.d.ListStacks(r.Context(), actorOf(r), p.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getStack(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.GetStack(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) stopStack(w http.ResponseWriter, r *http.Request) error {
	return s.setStackRunning(w, r, false)
}

func (s *Server) startStack(w http.ResponseWriter, r *http.Request) error {
	return s.setStackRunning(w, r, true)
}

// setStackRunning stops or starts every service of a stack. 200.
func (s *Server) setStackRunning(w http.ResponseWriter, r *http.Request, running bool) error {
	st, err := s.d.SetStackRunning(r.Context(), actorOf(r), r.PathValue("id"), running)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// redeployStack runs every container of each running service of a stack
// again. 202, or 409 when no service runs.
func (s *Server) redeployStack(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.RedeployStack(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

// deleteStack removes a stack and marks its services Terminating. 202 with
// the stack as it was, Terminating.
func (s *Server) deleteStack(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.RemoveStack(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}
