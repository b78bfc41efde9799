package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wharfhq/wharf/api"
)

// listAll follows the cursor of a paged list until the end.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "1000")
	var all []T
	for {
		var page api.List[T]
		if err := c.Do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all, nil
		}
		q.Set("cursor", page.Next)
	}
}

// Nodes lists every node.
func (c *Client) Nodes(ctx context.Context) ([]api.Node, error) {
	return listAll[api.Node](ctx, c, "/v1/nodes", nil)
}

// Node reads one node.
func (c *Client) Node(ctx context.Context, id string) (api.Node, error) {
	var n api.Node
	return n, c.Do(ctx, http.MethodGet, "/v1/nodes/"+url.PathEscape(id), nil, &n)
}

// LabelNode replaces a node's labels.
func (c *Client) LabelNode(ctx context.Context, id string, labels map[string]string) (api.Node, error) {
	var n api.Node
	return n, c.Do(ctx, http.MethodPatch, "/v1/nodes/"+url.PathEscape(id), map[string]any{"labels": labels}, &n)
}

// SetNodeAvailability sets a node's availability: active, pause or drain.
func (c *Client) SetNodeAvailability(ctx context.Context, id string, to api.NodeAvailability) (api.Node, error) {
	var n api.Node
	return n, c.Do(ctx, http.MethodPatch, "/v1/nodes/"+url.PathEscape(id), map[string]any{"availability": to}, &n)
}

// RemoveNode removes a node.
func (c *Client) RemoveNode(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/nodes/"+url.PathEscape(id), nil, nil)
}

// JoinToken makes a join token with the server's defaults (it expires
// after api.DefaultJoinTokenTTL); rotate revokes the older ones.
func (c *Client) JoinToken(ctx context.Context, rotate bool) (api.JoinTokenCreated, error) {
	return c.CreateJoinToken(ctx, api.JoinTokenRequest{Rotate: rotate})
}

// CreateJoinToken makes a join token as req says (TTL, MaxUses, Rotate).
func (c *Client) CreateJoinToken(ctx context.Context, req api.JoinTokenRequest) (api.JoinTokenCreated, error) {
	var t api.JoinTokenCreated
	return t, c.Do(ctx, http.MethodPost, "/v1/join-tokens", req, &t)
}

// JoinTokens lists the join tokens (never their secrets).
func (c *Client) JoinTokens(ctx context.Context) ([]api.JoinToken, error) {
	var l api.List[api.JoinToken]
	return l.Items, c.Do(ctx, http.MethodGet, "/v1/join-tokens", nil, &l)
}

// DeleteJoinToken revokes a join token; nodes that joined with it stay.
func (c *Client) DeleteJoinToken(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/join-tokens/"+url.PathEscape(id), nil, nil)
}

// CreateService creates a service.
func (c *Client) CreateService(ctx context.Context, name string, spec api.ServiceSpec) (api.Service, error) {
	var s api.Service
	return s, c.Do(ctx, http.MethodPost, "/v1/services", map[string]any{"name": name, "spec": spec}, &s)
}

// Services lists every service.
func (c *Client) Services(ctx context.Context) ([]api.Service, error) {
	return listAll[api.Service](ctx, c, "/v1/services", nil)
}

// Service reads one service by ID or name.
func (c *Client) Service(ctx context.Context, idOrName string) (api.Service, error) {
	var s api.Service
	return s, c.Do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(idOrName), nil, &s)
}

// ServiceAction posts a verb (stop, start) to a service.
func (c *Client) ServiceAction(ctx context.Context, idOrName, verb string) (api.Service, error) {
	var s api.Service
	return s, c.Do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(idOrName)+"/"+verb, nil, &s)
}

// ScaleService sets a service's replicas.
func (c *Client) ScaleService(ctx context.Context, idOrName string, replicas int) (api.Service, error) {
	var s api.Service
	return s, c.Do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(idOrName)+"/scale", map[string]any{"replicas": replicas}, &s)
}

// RemoveService terminates a service.
func (c *Client) RemoveService(ctx context.Context, idOrName string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/services/"+url.PathEscape(idOrName), nil, nil)
}

// Containers lists containers, optionally of one service or node.
func (c *Client) Containers(ctx context.Context, service, node string) ([]api.Container, error) {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	if node != "" {
		q.Set("node", node)
	}
	return listAll[api.Container](ctx, c, "/v1/containers", q)
}

// Container reads one container by ID or name.
func (c *Client) Container(ctx context.Context, idOrName string) (api.Container, error) {
	var ct api.Container
	return ct, c.Do(ctx, http.MethodGet, "/v1/containers/"+url.PathEscape(idOrName), nil, &ct)
}

// LogsPath is the path of a container's or a service's logs.
func LogsPath(kind, idOrName string, follow bool, tail int) string {
	q := url.Values{}
	if follow {
		q.Set("follow", "1")
	}
	if tail > 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	return fmt.Sprintf("/v1/%s/%s/logs?%s", kind, url.PathEscape(idOrName), q.Encode())
}

// CreateToken makes an API token of role (api.RoleReadOnly, RoleDeploy or
// RoleAdmin); "" lets the server pick, which gives read-only.
func (c *Client) CreateToken(ctx context.Context, name, role string) (api.TokenCreated, error) {
	var t api.TokenCreated
	return t, c.Do(ctx, http.MethodPost, "/v1/tokens", map[string]any{"name": name, "role": role}, &t)
}

// Tokens lists API tokens.
func (c *Client) Tokens(ctx context.Context) ([]api.Token, error) {
	return listAll[api.Token](ctx, c, "/v1/tokens", nil)
}

// RemoveToken deletes an API token.
func (c *Client) RemoveToken(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil)
}

// Events lists every stored event after a cursor ("" for all kept).
func (c *Client) Events(ctx context.Context, since string) ([]api.Event, error) {
	var all []api.Event
	for {
		q := url.Values{"limit": {"1000"}}
		if since != "" {
			q.Set("since", since)
		}
		var page api.List[api.Event]
		if err := c.Do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all, nil
		}
		since = page.Next
	}
}

// Actions lists the audit trail.
func (c *Client) Actions(ctx context.Context) ([]api.Action, error) {
	return listAll[api.Action](ctx, c, "/v1/actions", nil)
}

// ActionsNewestFirst reads the whole audit trail, newest first
// (GET /v1/actions?order=newest).
func (c *Client) ActionsNewestFirst(ctx context.Context) ([]api.Action, error) {
	return listAll[api.Action](ctx, c, "/v1/actions", url.Values{"order": {"newest"}})
}

// Version asks the server for its version.
func (c *Client) Version(ctx context.Context) (api.Version, error) {
	var v api.Version
	return v, c.Do(ctx, http.MethodGet, "/version", nil, &v)
}
