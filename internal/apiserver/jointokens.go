package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

// Join tokens are "WHARF-1-<CA digest>-<secret>". The store keeps only the
// SHA-256 (hex) of the secret part, in an api.JoinToken with ID = its first
// 16 hex digits; the joiner (the agent gateway) parses a token, checks the
// digest against its CA and compares the secret's hash with the stored ones.

type createJoinTokenRequest struct {
	Rotate bool `json:"rotate"`
}

// createJoinToken serves POST /v1/join-tokens: a new join token; with
// rotate, every older join token is deleted in the same transaction.
func (s *Server) createJoinToken(w http.ResponseWriter, r *http.Request) error {
	var req createJoinTokenRequest
	if err := s.decode(w, r, &req, true); err != nil {
		return err
	}
	if s.cfg.CADigest == "" {
		return newErr(errdefs.ErrUnavailable, "this server has no CA yet, so it cannot make join tokens")
	}
	token, hash, err := pki.NewJoinToken(s.cfg.CADigest)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		jt := api.JoinToken{Meta: api.Meta{ID: hashID(hash)}, Hash: hash}
		setObject(r, jt.ID)
		t := s.st.Txn()
		revoked := 0
		if req.Rotate {
			old, _, err := store.ListAll[api.JoinToken](r.Context(), s.st, store.KindJoinTokens)
			if err != nil {
				return err
			}
			for _, o := range old {
				t.Delete(store.KindJoinTokens, o.ID, o.Revision)
			}
			revoked = len(old)
		}
		t.Create(store.KindJoinTokens, &jt)
		msg := "join token created"
		if req.Rotate {
			msg = fmt.Sprintf("join token created; %d older join token(s) revoked", revoked)
		}
		t.Emit(api.Event{Kind: "token", Object: jt.ID, Name: "join", Type: "created", Message: msg})
		err := t.Commit(r.Context())
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)) && attempt < 4 {
			continue // another rotation raced this one: list again
		}
		if err != nil {
			return err
		}
		break
	}
	out := api.JoinTokenCreated{Token: token}
	if s.cfg.JoinCommand != nil {
		out.Command = s.cfg.JoinCommand(token)
	}
	if s.cfg.AgentCommand != nil {
		out.AgentCommand = s.cfg.AgentCommand(token)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// join serves POST /v1/join, the one write that needs no API token: the
// join token in the body is the credential, and the Joiner checks it.
func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	var req api.JoinRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Token == "" {
		return errdefs.Invalid("token", "required: the join token")
	}
	if s.cfg.Join == nil {
		return newErr(errdefs.ErrUnavailable, "this server does not accept nodes")
	}
	setObject(r, req.NodeID)
	resp, err := s.cfg.Join.Join(r.Context(), req, r.RemoteAddr)
	if err != nil {
		return err
	}
	setObject(r, resp.NodeID)
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
