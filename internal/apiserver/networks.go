package apiserver

import (
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// The network routes: thin handlers over the domain's network
// operations. An organization has few networks: the list is not paged.

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) error {
	var req api.NetworkCreate
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	n, err := s.d.CreateNetwork(r.Context(), actorOf(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/networks/"+url.PathEscape(n.ID))
	writeJSON(w, http.StatusCreated, n)
	return nil
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) error {
	l, err := s.d.ListNetworks(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.d.InspectNetwork(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.RemoveNetwork(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
