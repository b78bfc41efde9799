package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// Exec runs cmd in a running container (by ID or name) and returns its
// combined output and exit code; admin tokens only. A command may run
// long: Exec is bounded by ctx alone, not by the client's timeout.
func (c *Client) Exec(ctx context.Context, idOrName string, cmd []string) (api.ExecResult, error) {
	var res api.ExecResult
	return res, c.call(ctx, 0, http.MethodPost, "/v1/containers/"+url.PathEscape(idOrName)+"/exec", api.ExecRequest{Cmd: cmd}, &res)
}

// RestartService asks for every container of a service to run again, one
// at a time, each stopped before its new run starts.
func (c *Client) RestartService(ctx context.Context, idOrName string) (api.Service, error) {
	return c.ServiceAction(ctx, idOrName, "restart")
}

// RedeployService runs every container of a service again with the same
// spec, replaced per the service's update config.
func (c *Client) RedeployService(ctx context.Context, idOrName string) (api.Service, error) {
	return c.ServiceAction(ctx, idOrName, "redeploy")
}

// UpdateService changes the spec fields that patch holds (a map of JSON
// field names, or any value that marshals to a JSON object); rev, when
// not 0, must be the service's revision. A change to the containers
// starts a rolling update.
func (c *Client) UpdateService(ctx context.Context, idOrName string, patch any, rev int64) (api.Service, error) {
	var s api.Service
	return s, c.Do(ctx, http.MethodPatch, "/v1/services/"+url.PathEscape(idOrName), map[string]any{"spec": patch, "revision": rev}, &s)
}
