package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// Exec runs cmd in a running container (by ID or name) and returns its
// combined output and exit code; admin tokens only.
func (c *Client) Exec(ctx context.Context, idOrName string, cmd []string) (api.ExecResult, error) {
	var res api.ExecResult
	return res, c.Do(ctx, http.MethodPost, "/v1/containers/"+url.PathEscape(idOrName)+"/exec", api.ExecRequest{Cmd: cmd}, &res)
}

// RestartService asks for every container of a service to run again, one
// at a time, each stopped before its new run starts.
func (c *Client) RestartService(ctx context.Context, idOrName string) (api.Service, error) {
	return c.ServiceAction(ctx, idOrName, "restart")
}
