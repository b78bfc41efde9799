package apiserver

import "net/http"

// The router's view of the organization (`wharf router ls`): its routes,
// their backends and its router nodes, from one domain operation.

func (s *Server) routerStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.RouterStatus(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
