package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
)

// DeployStack creates or updates the stack name to spec; with dryRun it
// only returns the plan.
func (c *Client) DeployStack(ctx context.Context, name string, spec api.StackSpec, dryRun bool) (api.DeployStackResult, error) {
	var res api.DeployStackResult
	body := api.DeployStackRequest{Spec: spec, DryRun: dryRun}
	return res, c.Do(ctx, http.MethodPut, "/v1/stacks/"+url.PathEscape(name), body, &res)
}

// Stacks lists every stack.
func (c *Client) Stacks(ctx context.Context) ([]api.Stack, error) {
	return listAll[api.Stack](ctx, c, "/v1/stacks", nil)
}

// Stack reads one stack by ID or name.
func (c *Client) Stack(ctx context.Context, idOrName string) (api.Stack, error) {
	var s api.Stack
	return s, c.Do(ctx, http.MethodGet, "/v1/stacks/"+url.PathEscape(idOrName), nil, &s)
}

// StackAction posts a verb (stop, start, redeploy) to a stack: it applies
// to each of its services.
func (c *Client) StackAction(ctx context.Context, idOrName, verb string) (api.Stack, error) {
	var s api.Stack
	return s, c.Do(ctx, http.MethodPost, "/v1/stacks/"+url.PathEscape(idOrName)+"/"+verb, nil, &s)
}

// RemoveStack terminates a stack and every service it made.
func (c *Client) RemoveStack(ctx context.Context, idOrName string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/stacks/"+url.PathEscape(idOrName), nil, nil)
}

// StackServices lists the services a stack made.
func (c *Client) StackServices(ctx context.Context, idOrName string) ([]api.Service, error) {
	return listAll[api.Service](ctx, c, "/v1/services", url.Values{"stack": {idOrName}})
}
