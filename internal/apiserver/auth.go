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
	return s.d.Authenticate(r.Context(), secret, r.Header.Get(api.OrgHeader))
}
