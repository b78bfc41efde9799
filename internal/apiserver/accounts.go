package apiserver

import (
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/throttle"
)

// withBody decodes the request body into a Req, calls op and sends its
// result with status.
func withBody[Req, Resp any](s *Server, status int, op func(r *http.Request, req Req) (Resp, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := s.decode(w, r, &req, false); err != nil {
			return err
		}
		out, err := op(r, req)
		if err != nil {
			return err
		}
		writeJSON(w, status, out)
		return nil
	}
}

// read calls op and sends its result.
func read[Resp any](op func(r *http.Request) (Resp, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		out, err := op(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// noContent calls op and answers 204.
func noContent(op func(r *http.Request) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := op(r); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// login trades a user's name and password for a token. Like a wrong API
// token, a failed login counts against its source address, and a source
// that failed too often is refused with 429 before its password is
// checked.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := s.cfg.Throttle.Blocked(src); blocked {
		return tooManyFailures(wait, "logins")
	}
	var req api.LoginRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	out, err := s.d.Login(r.Context(), req)
	if err != nil {
		if errors.Is(err, errdefs.ErrUnauthorized) {
			if wait := s.cfg.Throttle.Fail(src); wait > 0 {
				s.log.Warn("refusing an address that failed to log in too often", "source", src, "for", wait)
			}
		}
		return err
	}
	info := infoOf(r)
	info.who = req.User
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) accountRoutes() []route {
	// The domain is read at each call, not captured here (tests swap it).
	d := func() *domain.Domain { return s.d }
	a := actorOf
	id := func(r *http.Request) string { return r.PathValue("id") }
	return []route{
		{"POST", "/v1/login", "token", public, s.login},
		{"GET", "/v1/me", "user", authed, read(func(r *http.Request) (api.Me, error) { return d().Me(r.Context(), a(r)) })},
		{"POST", "/v1/me/password", "user", authed, func(w http.ResponseWriter, r *http.Request) error {
			var req api.PasswordRequest
			if err := s.decode(w, r, &req, false); err != nil {
				return err
			}
			if err := d().ChangePassword(r.Context(), a(r), req); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}},

		{"POST", "/v1/users", "user", authed, withBody(s, http.StatusCreated, func(r *http.Request, req api.CreateUserRequest) (api.User, error) {
			return d().CreateUser(r.Context(), a(r), req)
		})},
		{"GET", "/v1/users", "user", authed, read(func(r *http.Request) (api.List[api.User], error) { return d().ListUsers(r.Context(), a(r)) })},
		{"DELETE", "/v1/users/{id}", "user", authed, noContent(func(r *http.Request) error { return d().DeleteUser(r.Context(), a(r), id(r)) })},
		{"PUT", "/v1/users/{id}/password", "user", authed, func(w http.ResponseWriter, r *http.Request) error {
			var req api.PasswordRequest
			if err := s.decode(w, r, &req, false); err != nil {
				return err
			}
			if err := d().SetPassword(r.Context(), a(r), id(r), req.New); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}},

		{"POST", "/v1/orgs", "org", authed, withBody(s, http.StatusCreated, func(r *http.Request, req api.CreateOrgRequest) (api.Org, error) {
			return d().CreateOrg(r.Context(), a(r), req)
		})},
		{"GET", "/v1/orgs", "org", authed, read(func(r *http.Request) (api.List[api.Org], error) { return d().ListOrgs(r.Context(), a(r)) })},
		{"GET", "/v1/orgs/{id}", "org", authed, read(func(r *http.Request) (api.Org, error) { return d().GetOrg(r.Context(), a(r), id(r)) })},
		{"PATCH", "/v1/orgs/{id}", "org", authed, withBody(s, http.StatusOK, func(r *http.Request, req api.OrgPatch) (api.Org, error) {
			return d().UpdateOrg(r.Context(), a(r), id(r), req)
		})},
		{"DELETE", "/v1/orgs/{id}", "org", authed, noContent(func(r *http.Request) error { return d().DeleteOrg(r.Context(), a(r), id(r)) })},

		{"POST", "/v1/teams", "team", authed, withBody(s, http.StatusCreated, func(r *http.Request, req api.TeamRequest) (api.Team, error) {
			return d().CreateTeam(r.Context(), a(r), req)
		})},
		{"GET", "/v1/teams", "team", authed, read(func(r *http.Request) (api.List[api.Team], error) { return d().ListTeams(r.Context(), a(r)) })},
		{"GET", "/v1/teams/{id}", "team", authed, read(func(r *http.Request) (api.Team, error) { return d().GetTeam(r.Context(), a(r), id(r)) })},
		{"PATCH", "/v1/teams/{id}", "team", authed, withBody(s, http.StatusOK, func(r *http.Request, req api.TeamRequest) (api.Team, error) {
			return d().UpdateTeam(r.Context(), a(r), id(r), req)
		})},
		{"DELETE", "/v1/teams/{id}", "team", authed, noContent(func(r *http.Request) error { return d().DeleteTeam(r.Context(), a(r), id(r)) })},
		{"POST", "/v1/teams/{id}/members", "team", authed, withBody(s, http.StatusOK, func(r *http.Request, req api.MemberRequest) (api.Team, error) {
			return d().AddMember(r.Context(), a(r), id(r), req.User)
		})},
		{"DELETE", "/v1/teams/{id}/members/{user}", "team", authed, read(func(r *http.Request) (api.Team, error) {
			return d().RemoveMember(r.Context(), a(r), id(r), r.PathValue("user"))
		})},
	}
}
