package apiserver

import (
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// authenticate finds who a request calls as: it reads the API token from
// the Authorization header, and the domain layer finds the token (see
// domain.Authenticate).
func (s *Server) authenticate(r *http.Request) (domain.Actor, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return domain.Actor{}, newErr(errdefs.ErrUnauthorized, "missing API token: send the header \"Authorization: Bearer <token>\"")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return domain.Actor{}, newErr(errdefs.ErrUnauthorized, "malformed Authorization header: want \"Bearer <token>\"")
	}
	return s.d.Authenticate(r.Context(), secret)
}

// authorize decides whether an actor may call a route with a method: admin
// tokens may call every route; deploy tokens every route but the
// adminOnly ones; read-only tokens only GET the reader ones.
func authorize(a access, who domain.Actor, method string) error {
	if a == public {
		return nil
	}
	role := who.Role
	switch {
	case role == api.RoleAdmin:
		return nil
	case a == adminOnly:
		return newErr(errdefs.ErrForbidden, "token %q is a %s token; this needs an admin token", who.Name, role)
	case isRead(method) || role == api.RoleDeploy:
		return nil
	}
	return newErr(errdefs.ErrForbidden, "token %q is read-only: it may only GET; changing services, stacks and containers needs a deploy or admin token", who.Name)
}
