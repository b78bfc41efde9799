package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// CreateNetwork creates a network of the organization on subnet (an IPv4
// CIDR that overlaps none of its other networks).
func (c *Client) CreateNetwork(ctx context.Context, name, subnet string) (api.Network, error) {
	var n api.Network
	return n, c.Do(ctx, http.MethodPost, "/v1/networks", api.NetworkCreate{Name: name, Subnet: subnet}, &n)
}

// Networks lists the organization's networks, its default network first.
func (c *Client) Networks(ctx context.Context) ([]api.Network, error) {
	var l api.List[api.Network]
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/networks", nil, &l)
}

// Network reads one network, by ID or name.
func (c *Client) Network(ctx context.Context, idOrName string) (api.Network, error) {
	var n api.Network
	return n, c.Do(ctx, http.MethodGet, "/v1/networks/"+url.PathEscape(idOrName), nil, &n)
}

// RemoveNetwork deletes a network that no service joins.
func (c *Client) RemoveNetwork(ctx context.Context, idOrName string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/networks/"+url.PathEscape(idOrName), nil, nil)
}
