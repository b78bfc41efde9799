package apiserver

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

// Join tokens are "WHARF-1-<CA digest>-<secret>". The store keeps only the
// SHA-256 (hex) of the secret part, in an api.JoinToken with ID = its first
// 16 hex digits; the joiner (the agent gateway) parses a token, checks the
// digest against its CA and compares the secret's hash with the stored ones.

// maxJoinTokenUses caps max_uses far above any cluster, and far below
// where the store's use count could overflow.
const maxJoinTokenUses = 1_000_000

// createJoinToken serves POST /v1/join-tokens: a new join token, living
// api.DefaultJoinTokenTTL unless the request names a TTL ("0": forever),
// for MaxUses joins (0: any number); with rotate, every older join token is
// deleted in the same transaction.
func (s *Server) createJoinToken(w http.ResponseWriter, r *http.Request) error {
	var req api.JoinTokenRequest
	if err := s.decode(w, r, &req, true); err != nil {
		return err
	}
	if s.cfg.CADigest == "" {
		return newErr(errdefs.ErrUnavailable, "this server has no CA yet, so it cannot make join tokens")
	}
	ttl := api.DefaultJoinTokenTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < 0 {
			return errdefs.Invalid("ttl", "%q is not a duration such as 24h or 30m (0: a token that never expires)", req.TTL)
		}
		ttl = d
	}
	if req.MaxUses < 0 || req.MaxUses > maxJoinTokenUses {
		return errdefs.Invalid("max_uses", "%d: want the number of nodes the token may join (at most %d), or 0 for no limit", req.MaxUses, maxJoinTokenUses)
	}
	token, hash, err := pki.NewJoinToken(s.cfg.CADigest)
	if err != nil {
		return err
	}
	jt := api.JoinToken{Meta: api.Meta{ID: hashID(hash)}, Hash: hash, MaxUses: req.MaxUses}
	if ttl > 0 {
		jt.ExpiresAt = time.Now().UTC().Add(ttl).Truncate(time.Second)
	}
	setObject(r, jt.ID)
	for attempt := 0; ; attempt++ {
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
		msg := "join token created (" + describeJoinToken(&jt) + ")"
		if req.Rotate {
			msg += fmt.Sprintf("; %d older join token(s) revoked", revoked)
		}
		t.Emit(api.Event{Kind: "token", Object: jt.ID, Name: "join", Type: "created", Message: msg})
		err := t.Commit(r.Context())
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)) && attempt < 4 {
			continue // another rotation or a join raced this one: list again
		}
		if err != nil {
			return err
		}
		break
	}
	jt.Hash = ""
	out := api.JoinTokenCreated{JoinToken: jt, Token: token}
	if s.cfg.JoinCommand != nil {
		out.Command = s.cfg.JoinCommand(token)
	}
	if s.cfg.AgentCommand != nil {
		out.AgentCommand = s.cfg.AgentCommand(token)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// describeJoinToken says how long and for how many joins a token works.
func describeJoinToken(t *api.JoinToken) string {
	life := "never expires"
	if !t.ExpiresAt.IsZero() {
		life = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	uses := "any number of nodes"
	if t.MaxUses > 0 {
		uses = fmt.Sprintf("%d node(s)", t.MaxUses)
	}
	return life + ", joins " + uses
}

// listJoinTokens serves GET /v1/join-tokens: every join token, with its
// expiry and uses, never its hash. There are few, so there is one page.
func (s *Server) listJoinTokens(w http.ResponseWriter, r *http.Request) error {
	all, err := store.ListJoinTokens(r.Context(), s.st)
	if err != nil {
		return err
	}
	l := api.List[api.JoinToken]{Items: make([]api.JoinToken, 0, len(all))}
	for _, t := range all {
		t.Hash = ""
		l.Items = append(l.Items, *t)
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// deleteJoinToken serves DELETE /v1/join-tokens/{id}: the token stops
// working at once (a join racing the delete either commits before it or
// fails). Nodes that joined with it stay.
func (s *Server) deleteJoinToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.st.Delete(r.Context(), store.KindJoinTokens, id, 0,
		api.Event{Kind: "token", Object: id, Name: "join", Type: "deleted", Message: "join token " + id + " revoked"})
	if err != nil {
		return explainWrite(err, "join token", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// join serves POST /v1/join, the one write that needs no API token: the
// join token in the body is the credential, and the Joiner checks it.
func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	if err := s.joinAllowed(r); err != nil {
		return err
	}
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
	// The TLS client certificate, when the joiner sent one, is its proof
	// of being the node it names (the handshake proved it holds the key).
	var peer []*x509.Certificate
	if r.TLS != nil {
		peer = r.TLS.PeerCertificates
	}
	resp, err := s.cfg.Join.Join(r.Context(), req, r.RemoteAddr, peer)
	if err != nil {
		s.joinFailed(r, err)
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
