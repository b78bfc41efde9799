package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// ContainerLogs streams the output of container c from the agent of its
// node to w, flushing after every write when w is an http.Flusher. With
// follow it keeps streaming until the container exits or ctx ends.
func (g *Gateway) ContainerLogs(ctx context.Context, c *api.Container, follow bool, tail int, w io.Writer) error {
	if c.Spec.Node == "" {
		return fmt.Errorf("%w: container %s is not placed yet", errdefs.ErrUnavailable, nameOf(c))
	}
	s := g.session(c.Spec.Node)
	if s == nil {
		return fmt.Errorf("%w: node %s is not connected", errdefs.ErrUnavailable, c.Spec.Node)
	}
	q := url.Values{}
	if follow {
		q.Set("follow", "1")
	}
	if tail > 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	u := agentHost + "/agent/v1/containers/" + url.PathEscape(c.ID) + "/logs"
	if len(q) > 0 {
		u += "?" + q.Encode()
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w: logs of %s from node %s: %v", errdefs.ErrUnavailable, nameOf(c), c.Spec.Node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// The agent's error, read back into its kind and quoted (see exec).
		aerr := errhttp.Read(resp)
		if errors.Is(aerr, errdefs.ErrNotFound) {
			return fmt.Errorf("%w: node %s has no container %s: %v", errdefs.ErrNotFound, c.Spec.Node, nameOf(c), aerr)
		}
		return fmt.Errorf("%w: logs of %s: node %s answered %s: %v", errdefs.ErrUnavailable, nameOf(c), c.Spec.Node, resp.Status, aerr)
	}
	if _, err := io.Copy(flushWriter(w), resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of %s: %w", nameOf(c), err)
	}
	return nil
}

func nameOf(c *api.Container) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// flushWriter flushes w after every write if it can be flushed: an
// http.Flusher, or a ResponseWriter that unwraps to one.
func flushWriter(w io.Writer) io.Writer {
	if f, ok := w.(http.Flusher); ok {
		return &flusher{w: w, flush: func() error { f.Flush(); return nil }}
	}
	if rw, ok := w.(http.ResponseWriter); ok {
		return &flusher{w: w, flush: http.NewResponseController(rw).Flush}
	}
	return w
}

type flusher struct {
	w     io.Writer
	flush func() error
}

func (f *flusher) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if n > 0 && err == nil && f.flush != nil {
		if f.flush() != nil {
			f.flush = nil // not flushable after all
		}
	}
	return n, err
}
