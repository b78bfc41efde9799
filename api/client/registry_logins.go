package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// RegistryLogin stores the organization's credential for a registry host
// ("host:port", "docker.io" for Docker Hub), replacing any.
func (c *Client) RegistryLogin(ctx context.Context, host, username, password string) (api.RegistryLogin, error) {
	var out api.RegistryLogin
	return out, c.Do(ctx, http.MethodPut, "/v1/registry/logins/"+url.PathEscape(host), api.RegistryLoginRequest{Username: username, Password: password}, &out)
}

// RegistryLogout removes the organization's credential for a host.
func (c *Client) RegistryLogout(ctx context.Context, host string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/registry/logins/"+url.PathEscape(host), nil, nil)
}

// RegistryLogins lists the organization's credentials: hosts and users,
// never passwords.
func (c *Client) RegistryLogins(ctx context.Context) ([]api.RegistryLogin, error) {
	var out []api.RegistryLogin
	return out, c.Do(ctx, http.MethodGet, "/v1/registry/logins", nil, &out)
}
