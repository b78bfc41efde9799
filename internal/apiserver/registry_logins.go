package apiserver

import (
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// The registry credential routes: thin handlers over the domain's
// RegistryLogin, RegistryLogout and RegistryLogins. No answer, error,
// event or action carries a password.

// registryLogin stores the organization's credential for {id} (a host).
func (s *Server) registryLogin(w http.ResponseWriter, r *http.Request) error {
	var req api.RegistryLoginRequest
	if err := s.decode(w, r, &req, false); err != nil {
		if errors.Is(err, errTooLarge) {
			return err
		}
		var fe *errdefs.FieldError
		if errors.As(err, &fe) && fe.Message == "unknown field "+`"`+fe.Field+`"` {
			return err // names a field only
		}
		return newErr(errdefs.ErrInvalid, `cannot decode the login: send {"username": USER, "password": PASSWORD} (the decoder's message is not shown: it could quote the password)`)
	}
	out, err := s.d.RegistryLogin(r.Context(), actorOf(r), r.PathValue("id"), req.Username, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// registryLogout removes the organization's credential for {id} (a host).
func (s *Server) registryLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.RegistryLogout(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listRegistryLogins lists the organization's credentials: hosts and
// users only.
func (s *Server) listRegistryLogins(w http.ResponseWriter, r *http.Request) error {
	list, err := s.d.RegistryLogins(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
