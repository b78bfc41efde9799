package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/tunnel"
)

const (
	dialTimeout  = 10 * time.Second
	maxBodyBytes = 32 << 20
	// serverHost is the host of requests to the server; the transport
	// ignores it and opens a stream of the session instead.
	serverHost = "http://gateway"
)

// agentSession is one connection to the gateway.
type agentSession struct {
	a      *Agent
	mux    *yamux.Session
	client *http.Client
	srv    *http.Server

	// mu serializes the assignments the session receives; lastRev is the
	// revision of the last it applied.
	mu      sync.Mutex
	lastRev int64
	gotRev  bool

	closeOnce sync.Once

	// execs are the execs the Docker endpoint made through this session
	// (streams.go).
	execs   streamExecs
	streams spliced
}

// session dials the gateway, says hello and heartbeats until the session
// fails or ctx ends. It reports whether the hello went through.
func (a *Agent) session(ctx context.Context) (bool, error) {
	id := a.identity()
	if leaf := id.cert.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
		return false, fmt.Errorf("the node certificate expired at %s (the agent was away longer than it lives): "+
			"restart the agent with a join token (--token-file or WHARF_JOIN_TOKEN) and it rejoins as the same node, keeping %s", leaf.NotAfter.UTC().Format(time.RFC3339), a.cfg.DataDir)
	}
	host, _, err := net.SplitHostPort(id.Gateway)
	if err != nil {
		return false, fmt.Errorf("gateway address %q: %w", id.Gateway, err)
	}
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		Config: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{id.cert},
			RootCAs:      id.pool,
			ServerName:   host,
		},
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := d.DialContext(dctx, "tcp", id.Gateway)
	cancel()
	if err != nil {
		return false, fmt.Errorf("dial gateway %s: %w", id.Gateway, err)
	}
	mux, err := yamux.Client(tunnel.FrameConn(conn), tunnel.Config(a.log))
	if err != nil {
		_ = conn.Close()
		return false, err
	}
	a.noteLocal(conn.LocalAddr())
	if a.net != nil {
		a.net.setUnderlay(conn.LocalAddr())
	}
	s := newAgentSession(a, mux)
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.srv.Serve(mux)
	}()
	defer func() { s.close(); <-served }()

	if err := s.hello(ctx); err != nil {
		return false, fmt.Errorf("hello: %w", err)
	}
	a.setSession(s)
	defer a.clearSession(s)
	a.exec.setConnected(true)
	defer a.exec.setConnected(false)
	a.log.Info("connected to the gateway", "gateway", id.Gateway)
	a.rep.kick()
	if a.net != nil {
		nctx, stopRelay := context.WithCancel(ctx)
		relayDone := make(chan struct{})
		go func() { defer close(relayDone); a.net.serveRelay(nctx, s) }()
		defer func() { stopRelay(); <-relayDone }()
	}
	rctx, stopRenew := context.WithCancel(ctx)
	renewing := make(chan struct{})
	go func() { defer close(renewing); a.renewLoop(rctx, s) }()
	defer func() { stopRenew(); <-renewing }()

	// The ticker first: opening the stream takes a round trip, which
	// must not delay the first heartbeat after the hello.
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	hb, err := s.openHeartbeats()
	switch {
	case errors.Is(err, errNoHeartbeatStream):
		a.log.Info("the gateway has no heartbeat stream (an earlier version): a request per heartbeat")
	case err != nil:
		if ctx.Err() != nil {
			return true, nil
		}
		return true, fmt.Errorf("heartbeat stream: %w", err)
	default:
		a.log.Debug("heartbeats on the heartbeat stream")
		defer hb.Close()
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-mux.CloseChan():
			return true, errors.New("session closed by the gateway")
		case <-t.C:
			var err error
			if hb != nil {
				err = s.beat(hb)
			} else {
				err = s.heartbeat(ctx)
			}
			if err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
		}
	}
}

func newAgentSession(a *Agent, mux *yamux.Session) *agentSession {
	s := &agentSession{a: a, mux: mux}
	// No idle connection: heartbeats have a stream of their own
	// (heartbeats.go), so a request (hello, a status report, a renewal,
	// all rare at idle) opens a stream that closes after it. An idle
	// connection costs the server a goroutine and 8 KB of buffers per
	// node, and keeping one (idle 1) measured 5,062 goroutines, 83-87 MB of
	// heap and 13.7-16.3 % of a core at 1,000 idle nodes against 4,062,
	// 72-75 MB and 10.1-12.7 % with none (see "Hollow nodes" in
	// docs/benchmarks.md). Before the heartbeat stream, a stream per
	// heartbeat cost the server 7 points of a core more than one idle
	// connection.
	s.client = tunnel.HTTPClient(mux, 0)
	h := http.NewServeMux()
	h.HandleFunc("PUT /agent/v1/assignments", s.handleAssignments)
	h.HandleFunc("GET /agent/v1/containers/{id}/logs", s.handleLogs)
	h.HandleFunc("POST /agent/v1/containers/{id}/exec", s.handleExec)
	h.HandleFunc("POST /agent/v1/builds", s.handleBuild)
	s.streamRoutes(h)
	if a.net != nil {
		h.HandleFunc("PUT /agent/v1/network", s.handleNetwork)
	}
	h.HandleFunc("PUT /agent/v1/routes", s.handleRoutes)
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	return s
}

func (s *agentSession) close() {
	s.closeOnce.Do(func() {
		_ = s.srv.Close()
		_ = s.mux.Close()
		s.client.CloseIdleConnections()
	})
}

func (a *Agent) setSession(s *agentSession) {
	a.mu.Lock()
	a.sess = s
	a.mu.Unlock()
}

func (a *Agent) clearSession(s *agentSession) {
	a.mu.Lock()
	if a.sess == s {
		a.sess = nil
	}
	a.mu.Unlock()
}

func (a *Agent) currentSession() *agentSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sess
}

// hello tells the server this node's facts and containers.
func (s *agentSession) hello(ctx context.Context) error {
	h := facts(ctx, s.a)
	reports, seqs := s.a.rep.snapshot()
	h.Containers = reports
	sent := time.Now()
	h.Time = sent.UTC()
	h.WitnessPort = s.a.witnessPort
	h.Features = []string{api.FeatureDeltaAssignments}
	var node api.Node
	if err := s.call(ctx, "/agent/v1/hello", h, &node, 30*time.Second); err != nil {
		return err
	}
	s.a.acked(sent)
	s.a.rep.markSent(seqs)
	s.a.log.Debug("hello answered", "state", node.State, "containers", len(reports))
	return nil
}

func (s *agentSession) heartbeat(ctx context.Context) error {
	sent := time.Now()
	if err := s.call(ctx, "/agent/v1/heartbeat", nil, nil, s.heartbeatTimeout()); err != nil {
		return err
	}
	s.a.acked(sent)
	return nil
}

func (s *agentSession) postStatus(ctx context.Context, rep api.StatusReport) error {
	return s.call(ctx, "/agent/v1/status", rep, nil, 30*time.Second)
}

// call POSTs in as JSON (nothing for nil) and decodes the answer into out.
func (s *agentSession) call(ctx context.Context, path string, in, out any, timeout time.Duration) error {
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverHost+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// The gateway's error, read back into its kind.
		err := errhttp.Read(resp)
		if errors.Is(err, errdefs.ErrNodeRemoved) {
			return fmt.Errorf("%w: %w", errNodeRemoved, err)
		}
		return fmt.Errorf("%s answered %s: %w", path, resp.Status, err)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (s *agentSession) handleAssignments(w http.ResponseWriter, r *http.Request) {
	var asg api.Assignments
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&asg); err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad assignments: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Within a session, an older set never replaces a newer one.
	if s.gotRev && asg.Revision < s.lastRev {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Everything below sees the full set, a delta merged into it.
	full, err := s.fullSet(&asg)
	if err != nil {
		s.a.log.Warn("assignments refused", "revision", asg.Revision, "err", err)
		errhttp.Write(w, err)
		return
	}
	s.lastRev, s.gotRev = asg.Revision, true
	s.a.trustRegistry(full.RegistryHost, false)
	s.a.setFencing(full)
	s.a.exec.setAssignments(full)
	w.WriteHeader(http.StatusNoContent)
}

// fullSet is the full set asg stands for (executor.fullSet). A delta is
// from the last set this session applied: one before any is a conflict.
// s.mu is held.
func (s *agentSession) fullSet(asg *api.Assignments) (*api.Assignments, error) {
	if asg.Delta && !s.gotRev {
		return nil, errdefs.New(errdefs.ErrConflict, "a delta of assignments before any full set in this session: send the full set")
	}
	return s.a.exec.fullSet(asg)
}

func (s *agentSession) handleLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	opts := runtime.LogOptions{Follow: r.URL.Query().Get("follow") == "1" || r.URL.Query().Get("follow") == "true"}
	if t := r.URL.Query().Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			errhttp.Write(w, errdefs.Invalid("tail", "want a non-negative number"))
			return
		}
		opts.Tail = n
	}
	drv := s.a.exec.driverOf(r.Context(), id)
	if drv == nil {
		errhttp.Write(w, errNoContainer(id))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	fw := &flushWriter{w: w, rc: rc}
	if err := drv.Logs(r.Context(), id, opts, fw); err != nil && r.Context().Err() == nil {
		s.a.log.Debug("logs ended with an error", "container", id, "err", err)
	}
}

// flushWriter flushes the response after every write, so that followed
// logs arrive as they are written.
type flushWriter struct {
	mu sync.Mutex
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}
