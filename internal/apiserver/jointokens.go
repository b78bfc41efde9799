package apiserver

import (
	"crypto/x509"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// createJoinToken serves POST /v1/join-tokens (see domain.CreateJoinToken).
func (s *Server) createJoinToken(w http.ResponseWriter, r *http.Request) error {
	var req api.JoinTokenRequest
	if err := s.decode(w, r, &req, true); err != nil {
		return err
	}
	out, err := s.d.CreateJoinToken(r.Context(), actorOf(r), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// listJoinTokens serves GET /v1/join-tokens: every join token, with its
// expiry and uses, never its hash. There are few, so there is one page.
func (s *Server) listJoinTokens(w http.ResponseWriter, r *http.Request) error {
	l, err := s.d.ListJoinTokens(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// deleteJoinToken serves DELETE /v1/join-tokens/{id}: the token stops
// working at once. Nodes that joined with it stay.
func (s *Server) deleteJoinToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.DeleteJoinToken(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// join serves POST /v1/join, the one write that needs no API token: the
// join token in the body is the credential, and the Joiner checks it. A
// source whose joins fail too often is refused here, before the domain
// layer sees the join.
func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	if err := s.joinAllowed(r); err != nil {
		return err
	}
	var req api.JoinRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	// The TLS client certificate, when the joiner sent one, is its proof
	// of being the node it names (the handshake proved it holds the key).
	var peer []*x509.Certificate
	if r.TLS != nil {
		peer = r.TLS.PeerCertificates
	}
	resp, err := s.d.Join(r.Context(), req, r.RemoteAddr, peer)
	if err != nil {
		s.joinFailed(r, err)
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// ca serves GET /v1/ca: the cluster CA certificate, PEM.
func (s *Server) ca(w http.ResponseWriter, r *http.Request) error {
	if len(s.cfg.CAPEM) == 0 {
		return newErr(errdefs.ErrUnavailable, "this server has no CA yet")
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.cfg.CAPEM)
	return nil
}
