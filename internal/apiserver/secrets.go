package apiserver

import (
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// The secrets routes: thin handlers over the domain's secret operations.
// No answer, error, event or action carries a secret's value.

// decodeSecret reads a secret request. Its errors never quote the body,
// which holds the value.
func (s *Server) decodeSecret(w http.ResponseWriter, r *http.Request) (api.SecretRequest, error) {
	var req api.SecretRequest
	err := s.decode(w, r, &req, false)
	switch {
	case err == nil:
		return req, nil
	case errors.Is(err, errTooLarge):
		return req, err
	}
	var fe *errdefs.FieldError
	if errors.As(err, &fe) && fe.Message == "unknown field "+`"`+fe.Field+`"` {
		return req, err // names a field only
	}
	return req, newErr(errdefs.ErrInvalid, `cannot decode the secret request: send {"name": NAME, "data": BASE64 of the value} (the decoder's message is not shown: it could quote the value)`)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) error {
	req, err := s.decodeSecret(w, r)
	if err != nil {
		return err
	}
	sec, err := s.d.CreateSecret(r.Context(), actorOf(r), req.Name, req.Data)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/secrets/"+sec.ID)
	writeJSON(w, http.StatusCreated, sec)
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	list, err := s.d.ListSecrets(r.Context(), actorOf(r), domain.Page{Limit: p.limit, After: p.after})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) error {
	sec, err := s.d.GetSecret(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sec)
	return nil
}

// updateSecret replaces a secret's value (PUT or PATCH); the services
// that use it are rolled.
func (s *Server) updateSecret(w http.ResponseWriter, r *http.Request) error {
	req, err := s.decodeSecret(w, r)
	if err != nil {
		return err
	}
	rev, err := ifMatchOr(r, req.Revision)
	if err != nil {
		return err
	}
	ref := r.PathValue("id")
	if req.Name != "" {
		cur, err := s.d.GetSecret(r.Context(), actorOf(r), ref)
		if err != nil {
			return err
		}
		if req.Name != cur.Name {
			return errdefs.Invalid("name", "a secret cannot be renamed: create %q and change the services to use it", req.Name)
		}
	}
	sec, err := s.d.UpdateSecret(r.Context(), actorOf(r), ref, req.Data, rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sec)
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := s.d.RemoveSecret(r.Context(), actorOf(r), r.PathValue("id"), rev); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
