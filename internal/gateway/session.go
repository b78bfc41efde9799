package gateway

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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/relay/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tunnel"
)

const (
	handshakeTimeout = 10 * time.Second
	maxBodyBytes     = 8 << 20
	// agentHost is the host name of requests to the agent; the transport
	// ignores it and opens a stream of the session instead.
	agentHost = "http://agent"
	// idleStreamTimeout closes a connection the gateway opened to push to
	// the agent (a yamux stream) once it has had no request this long:
	// pushes come in bursts, and an idle one holds two goroutines and 8 KB
	// of buffers per node, while opening a stream again costs one round
	// trip inside the session's TLS connection. At one second, placing
	// 10,000 replicas took up to twice as long (a new stream for most
	// pushes). The agent's connections to the gateway are its own to
	// keep or close: it holds none idle, its heartbeats have a stream of
	// their own (heartbeats.go).
	idleStreamTimeout = 3 * time.Second
)

// session is one agent's connection: a yamux session carrying HTTP both ways.
type session struct {
	g      *Gateway
	node   string
	mux    *yamux.Session
	srv    *http.Server
	client *http.Client
	log    *slog.Logger

	// deltas: the agent said api.FeatureDeltaAssignments in its hello.
	deltas atomic.Bool
	// delivered is what the agent holds of its set: see delta.go.
	delivered deliveredSet

	mu   sync.Mutex
	next *offeredSet // latest assignments not yet sent
	// network and routes are the overlay's network state and the
	// router's route table, each sent latest-wins.
	network latestDoc
	routes  latestDoc
	// pushing says a pusher goroutine runs (pushLoop); closing, that the
	// session closed and starts none. pushers counts them, and the
	// heartbeat streams' goroutines (heartbeats.go), for serve.
	pushing, closing bool
	pushers          sync.WaitGroup
	// pushed is when the pusher last began sending (pace); unpaced ends
	// a pace's wait at once (hurry).
	pushed  time.Time
	unpaced chan struct{}
	// beating says the session has its heartbeat stream open: it may
	// have one at a time (each holds a goroutine).
	beating bool
	// serials are the certificate serials this session has held: the one it
	// was admitted with and those renewed over it. A stored CertSerial
	// outside this set means the node rejoined elsewhere.
	serials map[string]bool

	done chan struct{}
	// ctx ends when the session closes (pushes under way end with it).
	ctx       context.Context
	cancelCtx context.CancelFunc
	closeOnce sync.Once
}

// serveConn authenticates one TCP connection and serves it as the node's
// session until it closes.
func (g *Gateway) serveConn(ctx context.Context, raw net.Conn) {
	remote := raw.RemoteAddr().String()
	// No throttle by address here: a node certificate cannot be guessed,
	// and refusing an address would let whoever shares it with a node (a
	// local user typing wrong API tokens, a neighbour behind the same NAT)
	// cut that node off and have its containers moved.
	tconn := tls.Server(raw, g.tlsCfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err := tconn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		g.log.Debug("agent handshake failed", "remote", remote, "err", err)
		_ = raw.Close()
		return
	}
	certs := tconn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		_ = tconn.Close()
		return
	}
	if pki.IsDockerClient(certs[0]) {
		// The cluster CA signs Docker API clients' certificates too; one
		// is never a node's, whatever its name.
		g.log.Warn("agent refused: a Docker client certificate is not a node's", "remote", remote)
		_ = tconn.Close()
		return
	}
	node := certs[0].Subject.CommonName
	var n api.Node
	err = g.store.Get(ctx, store.KindNodes, node, &n)
	switch {
	case errdefs.IsNotFound(err) || err == nil && n.State == api.NodeTerminated:
		// The CA vouches for the node ID: tell its agent it was removed.
		g.log.Warn("agent refused: its node was removed; telling it so", "node", node, "remote", remote)
		g.serveRemoved(ctx, tconn, node)
		return
	case err != nil:
		g.log.Warn("agent refused: cannot read its node", "node", node, "remote", remote, "err", err)
		_ = tconn.Close()
		return
	}
	current := serialMatches(n.CertSerial, certs[0].SerialNumber)
	previous := n.PrevCertSerial != "" && serialMatches(n.PrevCertSerial, certs[0].SerialNumber)
	if !current && !previous {
		g.log.Warn("agent refused: certificate is not the node's current one (renewed, or the node rejoined)", "node", node, "remote", remote)
		_ = tconn.Close()
		return
	}
	// No yamux keepalive here (a goroutine per session): a session that
	// receives nothing for SessionSilence fails its next read and ends.
	mux, err := yamux.Server(tunnel.FrameConn(tunnel.CloseWhenSilent(tconn, g.cfg.SessionSilence)), tunnel.ServerConfig(g.log))
	if err != nil {
		_ = tconn.Close()
		return
	}
	s := newSession(g, node, n.CertSerial, mux)
	if previous {
		// A renewal's answer was lost: the agent still holds the certificate
		// before it, and renews again in time.
		s.addSerial(n.PrevCertSerial)
		g.log.Warn("agent connected with its previous certificate (a renewal's answer was lost)", "node", node)
	}
	if !g.register(s) {
		s.close()
		return
	}
	s.log.Info("agent connected", "remote", remote)
	err = s.serve()
	g.unregister(s)
	if errors.Is(err, tunnel.ErrSilent) {
		s.log.Warn("agent disconnected: its session received nothing (host gone or link cut); the agent dials again if it can", "remote", remote, "err", err)
		return
	}
	s.log.Info("agent disconnected", "remote", remote)
}

func newSession(g *Gateway, node, serial string, mux *yamux.Session) *session {
	s := &session{
		g:       g,
		node:    node,
		mux:     mux,
		log:     g.log.With("node", node),
		done:    make(chan struct{}),
		unpaced: make(chan struct{}, 1),
		network: latestDoc{path: "/agent/v1/network", what: "network state"},
		routes:  latestDoc{path: "/agent/v1/routes", what: "route table"},
		serials: map[string]bool{serial: true},
	}
	s.ctx, s.cancelCtx = context.WithCancel(context.Background())
	s.client = tunnel.HTTPClient(mux, 8)
	if t, ok := s.client.Transport.(*http.Transport); ok {
		t.IdleConnTimeout = idleStreamTimeout
	}
	s.srv = &http.Server{
		Handler: g.agentRoutes,
		// The shared routes find this session in the request's context.
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(context.Background(), sessionKey{}, s) },
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	return s
}

// sessionKey is the context key of the session a request came over.
type sessionKey struct{}

// agentRoutes are the HTTP routes agents call over their sessions, made
// once and shared by every session (a mux of its own cost each session
// about 9 KB): a request finds its session in its context, put there by
// its session's server (newSession).
func agentRoutes() http.Handler {
	h := http.NewServeMux()
	route := func(pattern string, handle func(*session, http.ResponseWriter, *http.Request)) {
		h.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s, ok := r.Context().Value(sessionKey{}).(*session)
			if !ok { // a server made without newSession: a bug, not the agent's
				http.Error(w, "no agent session", http.StatusInternalServerError)
				return
			}
			handle(s, w, r)
		})
	}
	route("POST /agent/v1/hello", (*session).handleHello)
	route("POST /agent/v1/heartbeat", (*session).handleHeartbeat)
	route("POST "+api.HeartbeatsPath, (*session).handleHeartbeats)
	route("POST /agent/v1/status", (*session).handleStatus)
	route("POST /agent/v1/renew", (*session).handleRenew)
	route("POST /agent/v1/overlay", (*session).handleOverlay)
	route("POST /agent/v1/acme", (*session).handleACME)
	route("POST "+wire.Path, (*session).handleRelay)
	return h
}

// register makes s the node's session, closing the one it replaces.
func (g *Gateway) register(s *session) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	old := g.sessions[s.node]
	g.sessions[s.node] = s
	g.mu.Unlock()
	g.touch(s.node)
	if old != nil {
		old.log.Info("agent opened a new session: closing the old one")
		old.close()
	}
	return true
}

func (g *Gateway) unregister(s *session) {
	g.mu.Lock()
	if g.sessions[s.node] == s {
		delete(g.sessions, s.node)
	}
	g.mu.Unlock()
}

// serve runs the session until it closes: Serve returns when the yamux
// session ends (the agent went away, it received nothing for
// SessionSilence) or close closes it. It returns Serve's error, which
// wraps why the session ended.
func (s *session) serve() error {
	err := s.srv.Serve(sessionListener{s.mux})
	s.close()
	s.pushers.Wait()
	return err
}

// sessionListener is a yamux session as the listener of its HTTP server,
// with errors that end Serve. The error a session ends with can say it is
// temporary (a TCP timeout under the TLS connection), and http.Server
// retries such an error for ever rather than return; wrapped, it is not
// a net.Error.
type sessionListener struct{ *yamux.Session }

func (l sessionListener) Accept() (net.Conn, error) {
	c, err := l.Session.Accept()
	if err != nil {
		return nil, fmt.Errorf("agent session: %w", err)
	}
	return c, nil
}

func (s *session) close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		close(s.done)
		s.cancelCtx()
		_ = s.srv.Close()
		_ = s.mux.Close()
		s.client.CloseIdleConnections()
	})
}

// offer sets the latest assignments to send; an unsent older set is dropped.
func (s *session) offer(a *offeredSet) {
	s.mu.Lock()
	s.next = a
	s.startPusherLocked()
	s.mu.Unlock()
}

// startPusherLocked starts a pusher unless one runs or the session
// closed; s.mu must be held. A pusher runs only while there is something
// to send: an idle session holds no goroutine for it (1,000 nodes held
// 1,000 that waited; see "Hollow nodes" in docs/benchmarks.md).
func (s *session) startPusherLocked() {
	if s.pushing || s.closing {
		return
	}
	s.pushing = true
	s.pushers.Add(1)
	go s.pushLoop()
}

// pushRetry is how long a pusher waits after a failed send.
const pushRetry = time.Second

// pushEvery is the shortest interval between two pushes to one agent. A
// node whose set changes again soon after a push gets the changes of that
// interval in one push: during a large deploy the assigner's bursts
// (assignQuiet) can end every 100 ms or so, and each push costs both ends
// a request and the agent a pass over its set.
const pushEvery = 250 * time.Millisecond

// pace waits until pushEvery has passed since the pusher last began
// sending, then marks now as that moment; it returns false if the session
// closed meanwhile. Only the pusher calls it.
func (s *session) pace() bool {
	s.mu.Lock()
	wait := time.Until(s.pushed.Add(pushEvery))
	s.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.done:
			return false
		case <-t.C:
		case <-s.unpaced:
		}
	}
	s.mu.Lock()
	s.pushed = time.Now()
	s.mu.Unlock()
	return true
}

// hurry lets the next push go without waiting for pushEvery: a hello
// starts the agent's session state afresh (its first set of the session is
// the base of the deltas that follow), and an agent that reconnects
// should not wait for it.
func (s *session) hurry() {
	s.mu.Lock()
	s.pushed = time.Time{}
	s.mu.Unlock()
	select {
	case s.unpaced <- struct{}{}:
	default:
	}
}

// pushLoop sends what is offered, one at a time and at most every
// pushEvery, the network state and the route table first, then the latest
// assignments; a failed send is tried again pushRetry later unless a newer
// one replaced it. It ends when nothing is left to send or the session
// closes.
func (s *session) pushLoop() {
	defer s.pushers.Done()
	for {
		if !s.pace() {
			s.mu.Lock()
			s.pushing = false
			s.mu.Unlock()
			return
		}
		failed := s.pushDoc(&s.network)
		failed = s.pushDoc(&s.routes) || failed
		s.mu.Lock()
		a := s.next
		s.next = nil
		s.mu.Unlock()
		if a != nil {
			if err := s.putAssignments(a); err != nil {
				s.log.Warn("push assignments failed; will retry", "revision", a.Revision, "err", err)
				s.mu.Lock()
				if s.next == nil {
					s.next = a
				}
				s.mu.Unlock()
				failed = true
			}
		}
		if failed {
			select {
			case <-s.done:
			case <-time.After(pushRetry):
			}
		}
		s.mu.Lock()
		if s.closing || s.next == nil && s.network.next == nil && s.routes.next == nil {
			s.pushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// putAssignments sends a, as a delta when the agent takes one (delta.go).
// An agent that refuses a delta (409: it lacks a container the delta
// keeps) gets the full set at once.
func (s *session) putAssignments(a *offeredSet) error {
	deltas := s.deltas.Load()
	wire := s.delivered.wireForm(a, deltas)
	err := s.sendAssignments(wire)
	if wire.Delta && errdefs.IsConflict(err) {
		s.log.Warn("agent refused a delta of its assignments; sending the full set", "revision", a.Revision, "err", err)
		s.delivered.forget()
		wire = a.Assignments
		err = s.sendAssignments(wire)
	}
	if err != nil {
		// The agent may hold this set, the one before or neither.
		s.delivered.forget()
		return err
	}
	s.delivered.accepted(a, deltas)
	s.log.Debug("assignments pushed", "revision", a.Revision, "delta", wire.Delta, "containers", len(wire.Containers), "kept", len(wire.Kept))
	return nil
}

func (s *session) sendAssignments(a *api.Assignments) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.put("/agent/v1/assignments", body)
}

// put sends body (JSON) to one of the agent's PUT routes.
func (s *session) put(path string, body []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, agentHost+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("agent answered %s: %w", resp.Status, errhttp.Read(resp))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (s *session) handleHello(w http.ResponseWriter, r *http.Request) {
	var h api.AgentHello
	if !decodeBody(w, r, &h) {
		return
	}
	if err := validateHello(h); err != nil {
		s.log.Warn("hello refused", "err", err)
		errhttp.Write(w, err)
		return
	}
	node, err := s.g.hello(r.Context(), s.node, h)
	if err != nil {
		s.log.Warn("hello failed", "err", err)
		errhttp.Write(w, err)
		return
	}
	// Before the push below: its set, once accepted, is the first base
	// of deltas.
	s.deltas.Store(slices.Contains(h.Features, api.FeatureDeltaAssignments))
	s.g.assign.pushNode(s.node)
	s.g.net.node(node.ID, node)
	s.g.net.pushNode(node.ID, node.Revision)
	s.g.routes.node(node.ID, node)
	s.g.routes.pushNode(node.ID)
	s.hurry()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(node)
}

// handleHeartbeat is a heartbeat as a request of its own, as agents before
// the heartbeat stream (heartbeats.go) send them.
func (s *session) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBodyBytes))
	s.heard(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

// heard is what a heartbeat does, before it is acknowledged: the node was
// heard from now, and a node marked Unreachable is Deployed again (written
// to the store before the agent learns its heartbeat went through).
func (s *session) heard(ctx context.Context) {
	if s.g.touch(s.node) == api.NodeUnreachable {
		if err := s.g.setNodeState(ctx, s.node, api.NodeUnreachable, api.NodeDeployed, "node is reachable again"); err != nil {
			s.log.Warn("mark node reachable", "err", err)
		}
	}
}

func (s *session) handleStatus(w http.ResponseWriter, r *http.Request) {
	var rep api.StatusReport
	if !decodeBody(w, r, &rep) {
		return
	}
	s.g.touch(s.node)
	if err := s.g.status.submit(r.Context(), s.node, rep.Containers); err != nil {
		s.log.Warn("status report not written", "err", err)
		errhttp.Write(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeBody decodes an agent's request body into v, or answers 400
// invalid and reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad request body: "+err.Error()))
		return false
	}
	return true
}

// offerNetwork sets the latest network state to send (see netstate.go).
func (s *session) offerNetwork(rev int64, body []byte) { s.offerDoc(&s.network, rev, body) }

// offerRoutes sets the latest route table to send (see routestate.go).
func (s *session) offerRoutes(rev int64, body []byte) { s.offerDoc(&s.routes, rev, body) }

// latestDoc is a document the gateway keeps one agent up to date with,
// latest wins: the overlay's network state, the router's route table.
type latestDoc struct {
	path string // the agent's PUT route
	what string // for logs
	next []byte // encoded, not yet sent
	rev  int64
	// off is set once the agent answered 404: it does not take this
	// document (an agent without an overlay, or of an earlier version).
	off bool
}

// offerDoc sets d's latest body and kicks the push loop.
func (s *session) offerDoc(d *latestDoc, rev int64, body []byte) {
	s.mu.Lock()
	if d.off {
		s.mu.Unlock()
		return
	}
	d.next, d.rev = body, rev
	s.startPusherLocked()
	s.mu.Unlock()
}

// pushDoc sends d's offered body, if any. A failed send is offered again
// unless a newer one replaced it; it reports whether the send failed.
func (s *session) pushDoc(d *latestDoc) (failed bool) {
	s.mu.Lock()
	body, rev := d.next, d.rev
	d.next = nil
	s.mu.Unlock()
	if body == nil {
		return false
	}
	err := s.put(d.path, body)
	switch {
	case errdefs.IsNotFound(err):
		s.log.Info("agent does not take this document: not sending it any more", "document", d.what)
		s.mu.Lock()
		d.off = true
		s.mu.Unlock()
	case err != nil:
		s.log.Warn("push failed; will retry", "document", d.what, "revision", rev, "err", err)
		s.mu.Lock()
		if d.next == nil {
			d.next, d.rev = body, rev
		}
		s.mu.Unlock()
		return true
	default:
		s.log.Debug("pushed", "document", d.what, "revision", rev)
	}
	return false
}
