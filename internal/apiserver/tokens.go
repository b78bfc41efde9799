package apiserver

import (
	"github.com/wharfhq/wharf/api"
	"net/http"
)

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateTokenRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	out, err := s.d.CreateTokenFor(r.Context(), actorOf(r), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	l, err := s.d.ListTokens(r.Context(), actorOf(r), p.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// deleteToken removes a token; it stops working at once. The last admin
// token cannot be deleted, so the cluster is never left without one.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.DeleteToken(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
