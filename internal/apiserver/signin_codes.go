package apiserver

import "net/http"

// createSignInCode serves POST /v1/ui/signin-codes: a one-time code for
// `wharf ui`'s sign-in link (see domain.CreateSignInCode).
func (s *Server) createSignInCode(w http.ResponseWriter, r *http.Request) error {
	c, err := s.d.CreateSignInCode(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}
