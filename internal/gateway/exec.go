package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// ContainerExec runs cmd in container c through the agent of its node and
// returns the command's output and exit code. Errors are errdefs errors:
// unavailable when the node is not connected, not found when the agent
// knows no such container, conflict when it does not run or its driver
// cannot exec.
func (g *Gateway) ContainerExec(ctx context.Context, c *api.Container, cmd []string) (api.ExecResult, error) {
	var res api.ExecResult
	if c.Spec.Node == "" {
		return res, fmt.Errorf("%w: container %s is not placed yet", errdefs.ErrUnavailable, nameOf(c))
	}
	s := g.session(c.Spec.Node)
	if s == nil {
		return res, fmt.Errorf("%w: node %s is not connected; try again once it is Deployed", errdefs.ErrUnavailable, c.Spec.Node)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	body, err := json.Marshal(api.ExecRequest{Cmd: cmd})
	if err != nil {
		return res, err
	}
	u := agentHost + "/agent/v1/containers/" + url.PathEscape(c.ID) + "/exec"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return res, fmt.Errorf("%w: exec in %s on node %s: %v", errdefs.ErrUnavailable, nameOf(c), c.Spec.Node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The agent's error, read back into its kind; it is quoted (%v), not
		// wrapped: the kind this call fails with is the gateway's.
		aerr := errhttp.Read(resp)
		switch {
		case errors.Is(aerr, errdefs.ErrNotFound):
			return res, fmt.Errorf("%w: node %s has no container %s: %v", errdefs.ErrNotFound, c.Spec.Node, nameOf(c), aerr)
		case errors.Is(aerr, errdefs.ErrNotImplemented):
			return res, fmt.Errorf("%w: cannot exec in %s: %v", errdefs.ErrConflict, nameOf(c), aerr)
		case errors.Is(aerr, errdefs.ErrConflict):
			return res, fmt.Errorf("%w: container %s is not running; start it first (%v)", errdefs.ErrConflict, nameOf(c), aerr)
		}
		return res, fmt.Errorf("%w: exec in %s: node %s answered %s: %v", errdefs.ErrUnavailable, nameOf(c), c.Spec.Node, resp.Status, aerr)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 2*api.MaxExecOutput)).Decode(&res); err != nil {
		return res, fmt.Errorf("%w: exec in %s: bad answer from node %s: %v", errdefs.ErrUnavailable, nameOf(c), c.Spec.Node, err)
	}
	return res, nil
}
