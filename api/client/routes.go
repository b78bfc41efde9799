package client

import (
	"context"
	"net/http"

	"github.com/wharfhq/wharf/api"
)

// Routes reads every route of the organization's services with its
// backends, and the router nodes (GET /v1/routes; `wharf router ls`).
func (c *Client) Routes(ctx context.Context) (api.RouterStatus, error) {
	var st api.RouterStatus
	return st, c.Do(ctx, http.MethodGet, "/v1/routes", nil, &st)
}
