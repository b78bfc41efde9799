// Package gateway is the server's side of the agents: it admits hosts as
// nodes (Join), holds one mutually authenticated, yamux-multiplexed TLS
// session per node, speaks the agent protocol of package api over it (hello,
// heartbeat, status and certificate renewal from the agent; assignments,
// logs and exec to it), marks silent nodes Unreachable, pushes every node the
// containers placed on it with what it needs to fence itself when cut off
// (the fence time, its witnesses and askers: witness.go), and tells the agent of a removed node so (403
// node_removed) instead of serving it.
//
// The gateway keeps heartbeats in memory: the store is written only when a
// node's state or facts change and when container statuses arrive (reports
// arriving together share a transaction: statusbatch.go).
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// Config configures a Gateway.
type Config struct {
	Store *store.Store
	CA    *pki.CA
	// TLSCert is the gateway's server certificate, issued by CA.
	TLSCert tls.Certificate
	// Addr is the listen address, e.g. ":7444" or "127.0.0.1:0".
	Addr string
	// Advertise is the host:port agents dial, returned in
	// JoinResponse.Gateway; by default the listener's address.
	Advertise string
	// HeartbeatGrace is how long a node may stay silent before it is marked
	// Unreachable (default DefaultHeartbeatGrace).
	HeartbeatGrace time.Duration
	// SessionSilence is how long an agent's session may receive nothing
	// at all (no heartbeat, request or yamux frame) before the gateway
	// closes it (default SessionSilenceFor(HeartbeatGrace)).
	SessionSilence time.Duration
	// NodeLossGrace is the controller's (controller.WithNodeLossGrace):
	// the agents fence FenceMargin before it (witness.go). Zero: the
	// agents never fence.
	NodeLossGrace time.Duration
	// NodeCertValidity is the lifetime of node certificates issued at join
	// and renewal (default pki.DefaultNodeCertValidity); agents renew at
	// 50-80% of it.
	NodeCertValidity time.Duration
	Logger           *slog.Logger
	// Sealer opens the secrets the gateway sends with a node's
	// assignments (nil: containers that use secrets cannot start).
	Sealer *seal.Sealer
	// RegistryHost is host:port of the server's built-in registry, sent
	// with every node's assignments (api.Assignments.RegistryHost) so
	// that its agent makes its engine trust the registry ("": none).
	RegistryHost string
	// BuiltinRegistryAuth gives the built-in registry's host and node's
	// pull credential there (ok false: none), for the RegistryAuths of
	// the node's assignments. nil: the server runs no built-in registry.
	BuiltinRegistryAuth func(ctx context.Context, node records.Node) (host string, auth api.RegistryAuth, ok bool)
	// ACME, when set, is where router nodes get certificates for https
	// routes that name none (its Hosts are filled per organization).
	ACME *api.ACMEConfig
}

// DefaultAddr is the listen address used when Config.Addr is empty.
const DefaultAddr = ":7444"

// Gateway is the agent gateway. Create it with New, then call Run once.
type Gateway struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	tlsCfg *tls.Config
	ready  chan struct{}
	addr   string // set before ready is closed

	mu       sync.Mutex
	started  bool
	closed   bool
	sessions map[string]*session  // node ID -> its one session
	nodes    map[string]*nodeLive // node ID -> in-memory liveness

	// agentRoutes serve every session's requests (session.go).
	agentRoutes http.Handler

	assign *assigner
	status *statusBatcher // group commit of status reports
	net    *netState
	routes *routeState
	// relay is the hub of relayed overlay frames (relay.go), made on
	// first use.
	relay     *relayHub
	relayOnce sync.Once
	wg        sync.WaitGroup // session and background goroutines
}

// nodeLive is what the gateway keeps in memory about a node.
type nodeLive struct {
	lastSeen time.Time
	state    api.NodeState // last state seen in or written to the store
	// name is the node's name as the container watch last showed it
	// (what event messages call it); "" until then.
	name string
}

// New checks cfg and returns a Gateway that does nothing until Run.
func New(cfg Config) (*Gateway, error) {
	if cfg.Store == nil {
		return nil, errors.New("gateway: Config.Store is required")
	}
	if cfg.CA == nil {
		return nil, errors.New("gateway: Config.CA is required")
	}
	if len(cfg.TLSCert.Certificate) == 0 {
		return nil, errors.New("gateway: Config.TLSCert is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.HeartbeatGrace <= 0 {
		cfg.HeartbeatGrace = DefaultHeartbeatGrace
	}
	if cfg.SessionSilence <= 0 {
		cfg.SessionSilence = SessionSilenceFor(cfg.HeartbeatGrace)
	}

	if cfg.NodeCertValidity <= 0 {
		cfg.NodeCertValidity = pki.DefaultNodeCertValidity
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default().With("component", "gateway")
	}
	// Agents speak TLS 1.3 only, with a certificate from the cluster CA.
	tlsCfg := pki.ServerTLSConfig(cfg.TLSCert)
	tlsCfg.MinVersion = tls.VersionTLS13
	tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	tlsCfg.ClientCAs = cfg.CA.Pool()
	g := &Gateway{
		cfg:      cfg,
		log:      cfg.Logger,
		store:    cfg.Store,
		tlsCfg:   tlsCfg,
		ready:    make(chan struct{}),
		sessions: map[string]*session{},
		nodes:    map[string]*nodeLive{},

		agentRoutes: agentRoutes(),
	}
	g.assign = newAssigner(g)
	g.status = &statusBatcher{g: g}
	g.net = newNetState(g)
	g.routes = newRouteState(g)
	return g, nil
}

// Ready is closed once Run listens; Addr is valid from then on.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addr is the actual listen address once Run listens, "" before.
func (g *Gateway) Addr() string {
	select {
	case <-g.ready:
		return g.addr
	default:
		return ""
	}
}

// Connected is the number of open agent sessions.
func (g *Gateway) Connected() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// Run listens on Config.Addr and serves agent sessions, the heartbeat
// monitor and the assignment pusher until ctx ends; then it closes every
// session and returns nil. It returns an error if it cannot listen.
func (g *Gateway) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.started {
		g.mu.Unlock()
		return errors.New("gateway: Run called twice")
	}
	g.started = true
	g.mu.Unlock()

	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", g.cfg.Addr, err)
	}
	g.addr = ln.Addr().String()
	close(g.ready)
	g.log.Info("agent gateway listening", "addr", g.addr)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.wg.Go(func() { g.monitor(ctx) })
	g.wg.Go(func() { g.assign.run(ctx) })
	g.wg.Go(func() { g.routes.run(ctx) })
	g.wg.Go(func() {
		<-ctx.Done()
		_ = ln.Close()
	})

	var acceptErr error
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			acceptErr = fmt.Errorf("gateway: accept: %w", err)
			break
		}
		g.wg.Go(func() { g.serveConn(ctx, conn) })
	}

	cancel()
	g.mu.Lock()
	g.closed = true
	open := make([]*session, 0, len(g.sessions))
	for _, s := range g.sessions {
		open = append(open, s)
	}
	g.mu.Unlock()
	for _, s := range open {
		s.close()
	}
	g.wg.Wait()
	g.log.Info("agent gateway stopped")
	return acceptErr
}

// touch records that node was heard from now and returns its known state.
func (g *Gateway) touch(node string) api.NodeState {
	g.mu.Lock()
	defer g.mu.Unlock()
	nl := g.nodes[node]
	if nl == nil {
		nl = &nodeLive{}
		g.nodes[node] = nl
	}
	nl.lastSeen = time.Now()
	return nl.state
}

// noteState records a node's stored state as last seen.
func (g *Gateway) noteState(node string, st api.NodeState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	nl := g.nodes[node]
	if nl == nil {
		// A node seen for the first time gets a full grace from now.
		nl = &nodeLive{lastSeen: time.Now()}
		g.nodes[node] = nl
	}
	nl.state = st
}

// noteName records a node's name as the watch showed it.
func (g *Gateway) noteName(node, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if nl := g.nodes[node]; nl != nil {
		nl.name = name
	}
}

// nodeName is the node's name as last seen by the watch, "" if unknown.
func (g *Gateway) nodeName(node string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if nl := g.nodes[node]; nl != nil {
		return nl.name
	}
	return ""
}

// forgetNode drops a deleted node and closes its session.
func (g *Gateway) forgetNode(node string) {
	g.mu.Lock()
	delete(g.nodes, node)
	s := g.sessions[node]
	g.mu.Unlock()
	if s != nil {
		g.log.Info("node removed: closing its session", "node", node)
		s.close()
	}
}

// session returns the open session of node, or nil.
func (g *Gateway) session(node string) *session {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[node]
}
