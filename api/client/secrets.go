package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// CreateSecret stores a new secret; the answer is its metadata (the
// server never returns a value).
func (c *Client) CreateSecret(ctx context.Context, name string, data []byte) (api.Secret, error) {
	var s api.Secret
	return s, c.Do(ctx, http.MethodPost, "/v1/secrets", api.SecretRequest{Name: name, Data: data}, &s)
}

// UpdateSecret replaces a secret's value (rev > 0: only at that
// revision); the services that use it are rolled.
func (c *Client) UpdateSecret(ctx context.Context, idOrName string, data []byte, rev int64) (api.Secret, error) {
	var s api.Secret
	return s, c.Do(ctx, http.MethodPut, "/v1/secrets/"+url.PathEscape(idOrName), api.SecretRequest{Data: data, Revision: rev}, &s)
}

// Secrets lists every secret's metadata.
func (c *Client) Secrets(ctx context.Context) ([]api.Secret, error) {
	return listAll[api.Secret](ctx, c, "/v1/secrets", nil)
}

// Secret reads one secret's metadata.
func (c *Client) Secret(ctx context.Context, idOrName string) (api.Secret, error) {
	var s api.Secret
	return s, c.Do(ctx, http.MethodGet, "/v1/secrets/"+url.PathEscape(idOrName), nil, &s)
}

// RemoveSecret deletes a secret that no service uses.
func (c *Client) RemoveSecret(ctx context.Context, idOrName string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/secrets/"+url.PathEscape(idOrName), nil, nil)
}
