package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// The server's side of the agent's streaming calls (api/agentstreams.go),
// for the Docker endpoint's exec, attach, top and stats. A stream is an
// HTTP request on a new yamux stream of the node's session that the
// agent answers 101 and then hijacks: the same session, the same HTTP
// framing as every other agent call until the bytes start, and nothing
// new to authenticate.

// connected is the session of c's node, or why there is none.
func (g *Gateway) connected(c *api.Container) (*session, error) {
	if c.Spec.Node == "" {
		return nil, fmt.Errorf("%w: container %s is not placed yet", errdefs.ErrUnavailable, nameOf(c))
	}
	return g.nodeSession(c.Spec.Node)
}

func (g *Gateway) nodeSession(node string) (*session, error) {
	s := g.session(node)
	if s == nil {
		return nil, fmt.Errorf("%w: node %s is not connected; try again once it is Deployed", errdefs.ErrUnavailable, node)
	}
	return s, nil
}

// streamCall makes one agent call of the streaming family and returns its
// response when it is a success (2xx or 101), else the agent's error,
// keeping its kind for not found, conflict and not implemented.
func (g *Gateway) streamCall(ctx context.Context, s *session, method, path string, in any, upgrade bool, what string) (*http.Response, error) {
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, agentHost+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", api.AgentStreamUpgrade)
		var b [16]byte
		_, _ = rand.Read(b[:])
		req.Header.Set(api.AgentStreamHeader, hex.EncodeToString(b[:]))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s on node %s: %v", errdefs.ErrUnavailable, what, s.node, err)
	}
	if resp.StatusCode/100 == 2 || (upgrade && resp.StatusCode == http.StatusSwitchingProtocols) {
		return resp, nil
	}
	defer resp.Body.Close()
	aerr := errhttp.Read(resp)
	for _, kind := range []error{errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrNotImplemented, errdefs.ErrInvalid} {
		if errors.Is(aerr, kind) {
			return nil, fmt.Errorf("%w: %s: node %s: %v", kind, what, s.node, aerr)
		}
	}
	return nil, fmt.Errorf("%w: %s: node %s answered %s: %v", errdefs.ErrUnavailable, what, s.node, resp.Status, aerr)
}

// ExecCreate makes an exec of cfg in container c on its node and returns
// the node's ID for it.
func (g *Gateway) ExecCreate(ctx context.Context, c *api.Container, cfg api.StreamExecConfig) (string, error) {
	s, err := g.connected(c)
	if err != nil {
		return "", err
	}
	resp, err := g.streamCall(ctx, s, http.MethodPost, "/agent/v1/containers/"+url.PathEscape(c.ID)+"/execs", cfg, false, "exec in "+nameOf(c))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out api.StreamExecCreated
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil || out.ID == "" {
		return "", fmt.Errorf("%w: exec in %s: bad answer from node %s: %v", errdefs.ErrUnavailable, nameOf(c), s.node, err)
	}
	return out.ID, nil
}

// ExecStart starts exec eid on node; with detach it returns a nil stream
// once the exec started. The stream (which has CloseWrite, ending the
// process's input) lives until ctx ends or it is closed.
func (g *Gateway) ExecStart(ctx context.Context, node, eid string, tty, detach bool) (io.ReadWriteCloser, error) {
	s, err := g.nodeSession(node)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if tty {
		q.Set("tty", "1")
	}
	if detach {
		q.Set("detach", "1")
	}
	resp, err := g.streamCall(ctx, s, http.MethodPost, "/agent/v1/execs/"+url.PathEscape(eid)+"/start?"+q.Encode(), nil, !detach, "start an exec")
	if err != nil {
		return nil, err
	}
	if detach {
		resp.Body.Close()
		return nil, nil
	}
	return upgraded(resp, s)
}

// ExecResize sets the terminal size of exec eid on node.
func (g *Gateway) ExecResize(ctx context.Context, node, eid string, height, width uint) error {
	s, err := g.nodeSession(node)
	if err != nil {
		return err
	}
	q := url.Values{"h": {strconv.FormatUint(uint64(height), 10)}, "w": {strconv.FormatUint(uint64(width), 10)}}
	resp, err := g.streamCall(ctx, s, http.MethodPost, "/agent/v1/execs/"+url.PathEscape(eid)+"/resize?"+q.Encode(), nil, false, "resize an exec")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// ExecInspect tells whether exec eid on node runs, and its exit code.
func (g *Gateway) ExecInspect(ctx context.Context, node, eid string) (api.StreamExecStatus, error) {
	var out api.StreamExecStatus
	s, err := g.nodeSession(node)
	if err != nil {
		return out, err
	}
	resp, err := g.streamCall(ctx, s, http.MethodGet, "/agent/v1/execs/"+url.PathEscape(eid), nil, false, "inspect an exec")
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil {
		return out, fmt.Errorf("%w: inspect an exec: bad answer from node %s: %v", errdefs.ErrUnavailable, s.node, err)
	}
	return out, nil
}

// ContainerAttach attaches to container c's streams on its node; tty
// tells whether its bytes are raw (a terminal) or multiplexed.
func (g *Gateway) ContainerAttach(ctx context.Context, c *api.Container, opts api.StreamAttach) (io.ReadWriteCloser, bool, error) {
	s, err := g.connected(c)
	if err != nil {
		return nil, false, err
	}
	q := url.Values{}
	for k, v := range map[string]bool{"stream": opts.Stream, "stdin": opts.Stdin, "stdout": opts.Stdout, "stderr": opts.Stderr, "logs": opts.Logs} {
		if v {
			q.Set(k, "1")
		}
	}
	resp, err := g.streamCall(ctx, s, http.MethodPost, "/agent/v1/containers/"+url.PathEscape(c.ID)+"/attach?"+q.Encode(), nil, true, "attach to "+nameOf(c))
	if err != nil {
		return nil, false, err
	}
	st, err := upgraded(resp, s)
	return st, resp.Header.Get("X-Wharf-Tty") == "1", err
}

// ContainerResize sets the terminal size of container c on its node.
func (g *Gateway) ContainerResize(ctx context.Context, c *api.Container, height, width uint) error {
	s, err := g.connected(c)
	if err != nil {
		return err
	}
	q := url.Values{"h": {strconv.FormatUint(uint64(height), 10)}, "w": {strconv.FormatUint(uint64(width), 10)}}
	resp, err := g.streamCall(ctx, s, http.MethodPost, "/agent/v1/containers/"+url.PathEscape(c.ID)+"/resize?"+q.Encode(), nil, false, "resize the terminal of "+nameOf(c))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// ContainerTop lists container c's processes, with ps's arguments psArgs.
func (g *Gateway) ContainerTop(ctx context.Context, c *api.Container, psArgs string) (api.StreamTop, error) {
	var out api.StreamTop
	s, err := g.connected(c)
	if err != nil {
		return out, err
	}
	path := "/agent/v1/containers/" + url.PathEscape(c.ID) + "/top"
	if psArgs != "" {
		path += "?" + url.Values{"ps_args": {psArgs}}.Encode()
	}
	resp, err := g.streamCall(ctx, s, http.MethodGet, path, nil, false, "processes of "+nameOf(c))
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return out, fmt.Errorf("%w: processes of %s: bad answer from node %s: %v", errdefs.ErrUnavailable, nameOf(c), s.node, err)
	}
	return out, nil
}

// ContainerStats returns container c's stats JSON from its node: one
// object, or with stream one per line until ctx ends or it is closed.
func (g *Gateway) ContainerStats(ctx context.Context, c *api.Container, stream bool) (io.ReadCloser, error) {
	s, err := g.connected(c)
	if err != nil {
		return nil, err
	}
	path := "/agent/v1/containers/" + url.PathEscape(c.ID) + "/stats"
	if stream {
		path += "?stream=1"
	}
	resp, err := g.streamCall(ctx, s, http.MethodGet, path, nil, false, "stats of "+nameOf(c))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// upgraded is the stream of a 101 answer.
func upgraded(resp *http.Response, s *session) (io.ReadWriteCloser, error) {
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: node %s answered %s, not a stream", errdefs.ErrUnavailable, s.node, resp.Status)
	}
	return &agentStream{ReadWriteCloser: rwc, s: s, id: resp.Request.Header.Get(api.AgentStreamHeader)}, nil
}

// agentStream is an upgraded stream of the session. Closing a yamux
// stream ends only its writing half: that is CloseWrite. Close also asks
// the agent to end its side (POST /agent/v1/streams/{id}/close), so that
// a client gone away ends the process's stream on the node at once.
type agentStream struct {
	io.ReadWriteCloser
	s    *session
	id   string
	once sync.Once
}

func (a *agentStream) CloseWrite() error { return a.ReadWriteCloser.Close() }

func (a *agentStream) Close() error {
	err := a.ReadWriteCloser.Close()
	a.once.Do(func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, agentHost+"/agent/v1/streams/"+url.PathEscape(a.id)+"/close", http.NoBody)
			if rerr != nil {
				return
			}
			if resp, rerr := a.s.client.Do(req); rerr == nil {
				resp.Body.Close()
			}
		}()
	})
	return err
}
