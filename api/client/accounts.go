package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// Login trades a user's name and password for a token (no token needed).
func (c *Client) Login(ctx context.Context, user, password string) (api.TokenCreated, error) {
	var t api.TokenCreated
	return t, c.Do(ctx, http.MethodPost, "/v1/login", api.LoginRequest{User: user, Password: password}, &t)
}

// CreateTokenWith makes an API token as req says (role, team, TTL).
func (c *Client) CreateTokenWith(ctx context.Context, req api.CreateTokenRequest) (api.TokenCreated, error) {
	var t api.TokenCreated
	return t, c.Do(ctx, http.MethodPost, "/v1/tokens", req, &t)
}

// Me says who the caller is and where it acts.
func (c *Client) Me(ctx context.Context) (api.Me, error) {
	var m api.Me
	return m, c.Do(ctx, http.MethodGet, "/v1/me", nil, &m)
}

// ChangePassword changes the caller's own password.
func (c *Client) ChangePassword(ctx context.Context, old, new string) error {
	return c.Do(ctx, http.MethodPost, "/v1/me/password", api.PasswordRequest{Old: old, New: new}, nil)
}

// CreateUser makes a user (server administrators).
func (c *Client) CreateUser(ctx context.Context, name, password string) (api.User, error) {
	var u api.User
	return u, c.Do(ctx, http.MethodPost, "/v1/users", api.CreateUserRequest{Name: name, Password: password}, &u)
}

// Users lists the users the caller may see.
func (c *Client) Users(ctx context.Context) ([]api.User, error) {
	var l api.List[api.User]
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/users", nil, &l)
}

// DeleteUser removes a user (server administrators).
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/users/"+url.PathEscape(name), nil, nil)
}

// SetPassword sets a user's password (server administrators).
func (c *Client) SetPassword(ctx context.Context, name, password string) error {
	return c.Do(ctx, http.MethodPut, "/v1/users/"+url.PathEscape(name)+"/password", api.PasswordRequest{New: password}, nil)
}

// CreateOrg makes an organization owned by owner (server administrators).
func (c *Client) CreateOrg(ctx context.Context, name, owner string) (api.Org, error) {
	var o api.Org
	return o, c.Do(ctx, http.MethodPost, "/v1/orgs", api.CreateOrgRequest{Name: name, Owner: owner}, &o)
}

// Orgs lists the organizations the caller may see.
func (c *Client) Orgs(ctx context.Context) ([]api.Org, error) {
	var l api.List[api.Org]
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/orgs", nil, &l)
}

// Org reads an organization.
func (c *Client) Org(ctx context.Context, name string) (api.Org, error) {
	var o api.Org
	return o, c.Do(ctx, http.MethodGet, "/v1/orgs/"+url.PathEscape(name), nil, &o)
}

// SetQuotas sets an organization's quotas (server administrators).
func (c *Client) SetQuotas(ctx context.Context, name string, q api.Quotas) (api.Org, error) {
	var o api.Org
	return o, c.Do(ctx, http.MethodPatch, "/v1/orgs/"+url.PathEscape(name), api.OrgPatch{Quotas: &q}, &o)
}

// DeleteOrg removes an empty organization (server administrators).
func (c *Client) DeleteOrg(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/orgs/"+url.PathEscape(name), nil, nil)
}

// CreateTeam makes a team in the organization the client acts in.
func (c *Client) CreateTeam(ctx context.Context, req api.TeamRequest) (api.Team, error) {
	var t api.Team
	return t, c.Do(ctx, http.MethodPost, "/v1/teams", req, &t)
}

// Teams lists the teams of the organization the client acts in.
func (c *Client) Teams(ctx context.Context) ([]api.Team, error) {
	var l api.List[api.Team]
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/teams", nil, &l)
}

// Team reads a team by name or ID.
func (c *Client) Team(ctx context.Context, ref string) (api.Team, error) {
	var t api.Team
	return t, c.Do(ctx, http.MethodGet, "/v1/teams/"+url.PathEscape(ref), nil, &t)
}

// UpdateTeam changes a team's access or members.
func (c *Client) UpdateTeam(ctx context.Context, ref string, req api.TeamRequest) (api.Team, error) {
	var t api.Team
	return t, c.Do(ctx, http.MethodPatch, "/v1/teams/"+url.PathEscape(ref), req, &t)
}

// DeleteTeam removes a team and its robot tokens.
func (c *Client) DeleteTeam(ctx context.Context, ref string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/teams/"+url.PathEscape(ref), nil, nil)
}

// AddMember puts a user in a team.
func (c *Client) AddMember(ctx context.Context, team, user string) (api.Team, error) {
	var t api.Team
	return t, c.Do(ctx, http.MethodPost, "/v1/teams/"+url.PathEscape(team)+"/members", api.MemberRequest{User: user}, &t)
}

// RemoveMember takes a user out of a team.
func (c *Client) RemoveMember(ctx context.Context, team, user string) (api.Team, error) {
	var t api.Team
	return t, c.Do(ctx, http.MethodDelete, "/v1/teams/"+url.PathEscape(team)+"/members/"+url.PathEscape(user), nil, &t)
}

// CreateSignInCode asks for a one-time code that signs a browser in to
// the web dashboard with the caller's rights (`wharf ui`).
func (c *Client) CreateSignInCode(ctx context.Context) (api.SignInCode, error) {
	var s api.SignInCode
	return s, c.Do(ctx, http.MethodPost, "/v1/ui/signin-codes", nil, &s)
}
