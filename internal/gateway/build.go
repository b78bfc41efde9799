package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// NodeConnected says whether node has an open session now.
func (g *Gateway) NodeConnected(node string) bool { return g.session(node) != nil }

// NodeBuild sends a build to node's agent (POST /agent/v1/builds: one
// line of req as JSON, then the context tar), copies the build's output
// to out as it comes and returns the pushed image's digest. Errors are
// errdefs errors: unavailable when the node is not connected or the
// session fails, forbidden when its agent does not allow builds, invalid
// when the build itself failed (its message is the engine's or the
// push's).
func (g *Gateway) NodeBuild(ctx context.Context, node string, req api.NodeBuildRequest, tar io.Reader, out io.Writer) (string, error) {
	s := g.session(node)
	if s == nil {
		return "", fmt.Errorf("%w: node %s is not connected; try again once it is Deployed", errdefs.ErrUnavailable, node)
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
	head, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	body := io.MultiReader(bytes.NewReader(append(head, '\n')), tar)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, agentHost+"/agent/v1/builds", body)
	if err != nil {
		return "", err
	}
	hreq.Header.Set("Content-Type", "application/x-tar")
	resp, err := s.client.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("%w: build on node %s: %v", errdefs.ErrUnavailable, node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		aerr := errhttp.Read(resp)
		switch {
		case errors.Is(aerr, errdefs.ErrForbidden):
			return "", fmt.Errorf("%w: node %s refused the build: %v", errdefs.ErrForbidden, node, aerr)
		case errors.Is(aerr, errdefs.ErrInvalid):
			return "", fmt.Errorf("%w: node %s refused the build: %v", errdefs.ErrInvalid, node, aerr)
		}
		return "", fmt.Errorf("%w: build on node %s: node answered %s: %v", errdefs.ErrUnavailable, node, resp.Status, aerr)
	}
	if _, err := io.Copy(flushWriter(out), resp.Body); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: build on node %s: the session ended: %v", errdefs.ErrUnavailable, node, ctx.Err())
		}
		return "", fmt.Errorf("%w: build on node %s: %v", errdefs.ErrUnavailable, node, err)
	}
	if msg := resp.Trailer.Get(api.ErrorTrailer); msg != "" {
		return "", errdefs.New(errdefs.ErrInvalid, "on node "+node+": "+msg)
	}
	digest := resp.Trailer.Get(api.BuildDigestTrailer)
	if digest == "" {
		return "", fmt.Errorf("%w: build on node %s: its agent reported no digest", errdefs.ErrUnavailable, node)
	}
	return digest, nil
}
