package apiserver

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

// authenticate finds the API token a request carries. Every request reads
// the token from the store (one Get by the hash's prefix), so a deleted
// token stops working at once.
func (s *Server) authenticate(r *http.Request) (*api.Token, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, newErr(errdefs.ErrUnauthorized, "missing API token: send the header \"Authorization: Bearer <token>\"")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, newErr(errdefs.ErrUnauthorized, "malformed Authorization header: want \"Bearer <token>\"")
	}
	wrong := newErr(errdefs.ErrUnauthorized, "wrong API token: no such token (it may have been deleted)")
	if !strings.HasPrefix(secret, "wharf_") {
		return nil, wrong
	}
	hash := pki.HashSecret(secret)
	var t api.Token
	if err := s.st.Get(r.Context(), store.KindTokens, hashID(hash), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, wrong
		}
		return nil, err
	}
	if !pki.SecretMatches(secret, t.Hash) {
		return nil, wrong
	}
	return &t, nil
}

// authorize decides whether a token may call a route with a method: admin
// tokens may call every route; deploy tokens every route but the
// adminOnly ones; read-only tokens only GET the reader ones.
func authorize(a access, t *api.Token, method string) error {
	if a == public {
		return nil
	}
	role := t.EffectiveRole()
	switch {
	case role == api.RoleAdmin:
		return nil
	case a == adminOnly:
		return newErr(errdefs.ErrForbidden, "token %q is a %s token; this needs an admin token", t.Name, role)
	case isRead(method) || role == api.RoleDeploy:
		return nil
	}
	return newErr(errdefs.ErrForbidden, "token %q is read-only: it may only GET; changing services, stacks and containers needs a deploy or admin token", t.Name)
}
