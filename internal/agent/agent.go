// Package agent is the Wharf node agent. It joins the cluster once with a
// join token (keeping its key, certificate and identity in a data directory),
// then holds one mutually authenticated, yamux-multiplexed TLS session to the
// server's agent gateway: it says hello with its facts and containers,
// heartbeats, reports container statuses, renews its certificate over the
// live session, and converges the node's containers on the assignments the
// server pushes, through runtime drivers: it restarts exited containers per
// their autorestart policy, stops those whose stop_after_disconnect passes
// while it is cut off from the server, fences (stops the containers the
// server would run elsewhere) when it finds itself cut off and its
// witnesses, other nodes' agents, say the server is up (fence.go,
// witness.go), runs commands in containers for the
// server (exec) and their health checks. When the server says the node was
// removed, it stops and removes every container its drivers list and exits.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Version is the agent version reported in its hello; set at link time.
var Version = "dev"

// Config configures an Agent.
type Config struct {
	// ServerURL is https://host:port of the API server (join and /v1/ca).
	ServerURL string
	// JoinToken is needed only on first start, before DataDir holds a node
	// certificate.
	JoinToken string
	// JoinTokenFile, when set, is a file holding the join token (read when
	// JoinToken is empty). The agent deletes it once it has a node identity:
	// a joined agent needs only its certificate.
	JoinTokenFile string
	// Joined, when set, is called once the agent has a node identity (after
	// its join, or at start when it already had one), so that the caller
	// can forget the join token wherever else it kept it.
	Joined func()
	// DataDir keeps node.key, node.crt, ca.crt and node.json.
	DataDir string
	Labels  map[string]string
	// Drivers run the containers: a spec with an Image needs "docker", one
	// with only a Command "exec"; a lone "fake" driver runs everything.
	Drivers []runtime.Driver
	// HeartbeatInterval defaults to DefaultHeartbeat.
	HeartbeatInterval time.Duration
	// WitnessAddr is where the agent answers its peers' question "how
	// long since you heard the server?" before they fence (witness.go),
	// e.g. DefaultWitnessAddr; "" runs no witness listener (the node is
	// then nobody's witness; it still asks its own).
	WitnessAddr string
	// Hostname defaults to os.Hostname.
	Hostname string
	// Addresses, when set, are reported in the hello instead of the
	// addresses of the host's interfaces.
	Addresses []string
	Logger    *slog.Logger
	// StopContainersOnExit stops every container this agent runs when Run
	// returns because ctx ended. By default containers outlive the agent.
	StopContainersOnExit bool
	// AllowBind are the directories of this node under which a container
	// may bind-mount a path (see binds.go); none by default.
	AllowBind []string
	// AllowDockerSocket lets a container bind-mount the Docker socket,
	// which gives it root on the node.
	AllowDockerSocket bool
	// AllowHostNetwork lets a docker container run in network mode host,
	// on the node's network stack (the exec driver's processes are there
	// anyway).
	AllowHostNetwork bool
	// DockerSockets are more paths of a Docker socket to refuse, beside
	// DockerSockets (the unix socket --docker-host names).
	DockerSockets []string
	// DockerCertsDir is the Docker Engine's registry certificates
	// directory, where a node with the docker driver makes its engine
	// trust the server's built-in registry (see registrytrust.go); ""
	// writes nothing. The CLI's default is DefaultDockerCertsDir.
	DockerCertsDir string
	// AllowBuilds lets the server send this node images to build with its
	// engine (build.go): a build runs the Dockerfile's RUN steps here, as
	// any user of the organization who may deploy and push writes them.
	// Off by default.
	AllowBuilds bool
	// Overlay runs the node's side of the organization's overlay networks
	// (network.go): VXLAN devices and bridges, addresses for the
	// containers, a resolver for their names. It needs root (CAP_NET_ADMIN,
	// and CAP_SYS_ADMIN for the exec driver's namespaces).
	Overlay bool
	// OverlayAddress is the node's address for VXLAN traffic; empty takes
	// the local address of the agent's connection to the server.
	OverlayAddress string
	// AdvertiseAddress is where routers and other nodes reach this node's
	// published ports (api.Node.Address); empty takes the local address
	// of the agent's connection to the server.
	AdvertiseAddress string
	// Router is how the node's router listens when the node is one.
	Router RouterConfig
}

// Agent is one node's agent. Create it with New, then call Run once.
type Agent struct {
	cfg Config
	log *slog.Logger

	// trust is the built-in registry the engine was made to trust.
	trust registryTrust

	// builds holds a token while a build runs: one at a time.
	builds chan struct{}

	mu    sync.Mutex
	ident *identity
	sess  *agentSession // the open session, nil while disconnected
	// renewSerial's certificate is due for renewal at renewAt.
	renewSerial string
	renewAt     time.Time

	exec  *executor
	rep   *reporter
	binds *bindPolicy
	net   *netPlane // nil without Config.Overlay
	// routes runs the router while the node carries api.RouterLabel.
	routes *routerPlane

	// local is the local address of the latest connection to the
	// server: the node's address when no AdvertiseAddress is set.
	local netip.Addr

	// contact is when the server last acknowledged a request; fencing,
	// what the latest assignments said of fencing (fence.go); witnessPort
	// is the witness listener's port (0: none).
	contact     contact
	fencing     fenceState
	witnessPort int
	// redial wakes the connect loop from its backoff.
	redial chan struct{}
}

const (
	// DefaultHeartbeat is the heartbeat interval unless told otherwise:
	// the server's heartbeat and node-loss graces and the fence time are
	// designed for it (docs/reliability.md, "Failover timeline").
	DefaultHeartbeat = time.Second

	backoffMin = 500 * time.Millisecond
	backoffMax = 10 * time.Second
	// backoffSilent is the longest wait between two tries at the server
	// while the agent may still have to fence: a server that comes back
	// is heard again long before the fence time.
	backoffSilent = time.Second
)

// New checks cfg and loads the identity kept in DataDir, if any.
func New(cfg Config) (*Agent, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("agent: Config.DataDir is required")
	}
	if len(cfg.Drivers) == 0 {
		return nil, errors.New("agent: at least one runtime driver is required")
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeat
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: hostname: %w", err)
		}
		cfg.Hostname = h
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default().With("component", "agent")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: data dir: %w", err)
	}
	if cfg.JoinToken == "" && cfg.JoinTokenFile != "" {
		tok, err := readTokenFile(cfg.JoinTokenFile)
		switch {
		case err == nil:
			cfg.JoinToken = tok
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("agent: join token file: %w", err)
		}
	}
	binds, err := newBindPolicy(cfg.Hostname, cfg.AllowBind, cfg.AllowDockerSocket, cfg.DockerSockets)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, binds: binds, builds: make(chan struct{}, 1), redial: make(chan struct{}, 1)}
	id, err := loadIdentity(cfg.DataDir)
	switch {
	case err == nil && expired(id) && cfg.JoinToken != "" && cfg.ServerURL != "":
		// Away longer than its certificate lives: the expired certificate
		// still proves the node's identity for a rejoin with a join token.
		cfg.Logger.Warn("the node certificate has expired; rejoining as the same node with the join token", "dir", cfg.DataDir)
	case err == nil:
		a.ident = id
	case errors.Is(err, os.ErrNotExist):
		if cfg.JoinToken == "" {
			return nil, fmt.Errorf("agent: %s holds no node identity: a join token is needed to join "+
				"(--token-file PATH, token_file in the config file, or the WHARF_JOIN_TOKEN environment variable)", cfg.DataDir)
		}
		if cfg.ServerURL == "" {
			return nil, errors.New("agent: Config.ServerURL is required to join")
		}
	case cfg.JoinToken != "" && cfg.ServerURL != "":
		// A damaged identity with a token at hand: join again, as the same
		// node if node.json still names it.
		cfg.Logger.Warn("stored node identity is unusable; joining again", "dir", cfg.DataDir, "err", err)
	default:
		return nil, fmt.Errorf("agent: %w (pass a join token to join again)", err)
	}
	a.rep = newReporter(a)
	a.exec = newExecutor(a)
	a.routes = &routerPlane{a: a}
	if cfg.Overlay {
		a.net = newNetPlane(a)
	}
	return a, nil
}

// expired reports whether id's certificate is past its NotAfter.
func expired(id *identity) bool {
	return id.cert.Leaf != nil && time.Now().After(id.cert.Leaf.NotAfter)
}

// NodeID is the node's ID, "" before it has joined.
func (a *Agent) NodeID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ident == nil {
		return ""
	}
	return a.ident.NodeID
}

func (a *Agent) identity() *identity {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ident
}

// Run joins if needed, then keeps one session to the gateway up, reconnecting
// with backoff, until ctx ends; then it returns nil. It fails when it cannot
// join (a refused token, a CA that does not match the token), and when the
// gateway says the node was removed: then it first stops and removes every
// container its drivers list, and the error says how to join again.
func (a *Agent) Run(ctx context.Context) error {
	if a.identity() == nil {
		id, err := a.joinWithRetry(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		a.mu.Lock()
		a.ident = id
		a.mu.Unlock()
	}
	a.forgetJoinToken()
	a.log = a.log.With("node", a.NodeID())
	a.setNode()
	// The executor and reporter stop before the session loop returns when
	// the node was removed, so they run on a context of their own.
	wctx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	a.exec.adopt(wctx)
	if a.net != nil {
		a.net.restore()
	}

	var wg sync.WaitGroup
	if a.cfg.WitnessAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.WitnessAddr)
		if err != nil {
			return fmt.Errorf("agent: witness listener on %s: %w (pick another with --witness-addr, or \"\" for none)", a.cfg.WitnessAddr, err)
		}
		if ta, ok := ln.Addr().(*net.TCPAddr); ok {
			a.witnessPort = ta.Port
		}
		w := &witnessServer{creds: a.creds, askers: a.isAsker, silence: a.contact.silence, log: a.log}
		wg.Go(func() { w.serve(wctx, ln) })
	}
	wg.Go(func() { a.exec.run(wctx) })
	wg.Go(func() { a.rep.run(wctx) })
	wg.Go(func() { a.fenceLoop(wctx) })
	err := a.connectLoop(ctx)
	stopWork()
	wg.Wait()
	// The router serves its last table while the server is away; it ends
	// with the agent.
	a.routes.stop()
	if a.net != nil {
		a.net.close()
	}
	if errors.Is(err, errNodeRemoved) {
		a.removeAll()
		return fmt.Errorf("agent: %w; its containers were stopped and removed. To join again, delete the data dir %s and start the agent with a new join token (wharf node join-token)", err, a.cfg.DataDir)
	}
	if a.cfg.StopContainersOnExit {
		a.exec.stopAll()
	}
	a.log.Info("agent stopped")
	return nil
}

// nodeSetter is a driver that wants the node ID (docker labels containers
// with it).
type nodeSetter interface{ SetNode(id string) }

// setNode hands the node ID to every driver that wants it, before any List.
func (a *Agent) setNode() {
	id := a.NodeID()
	for _, d := range a.cfg.Drivers {
		if ns, ok := d.(nodeSetter); ok {
			ns.SetNode(id)
		}
	}
}

// connectLoop keeps a session up until ctx ends (nil) or the gateway says
// the node was removed (an error wrapping errNodeRemoved).
func (a *Agent) connectLoop(ctx context.Context) error {
	delay := backoffMin
	for ctx.Err() == nil {
		hello, err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errNodeRemoved) {
			return err
		}
		if hello {
			delay = backoffMin
		}
		if st := a.fenceState(); st.after > 0 && a.contact.silence() < st.after+backoffMax {
			// Past that, the backoff grows again from here.
			delay = min(delay, backoffSilent)
		}
		a.log.Warn("session to the gateway ended; reconnecting", "err", err, "in", delay.Round(time.Millisecond))
		if !a.backoff(ctx, jitter(delay)) {
			return nil
		}
		delay = min(delay*2, backoffMax)
	}
	return nil
}

// backoff waits d, or less when kickConnect wakes it; it reports whether
// ctx is still live.
func (a *Agent) backoff(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-a.redial:
	}
	return true
}

// kickConnect has the connect loop try the server now if it is waiting.
func (a *Agent) kickConnect() {
	select {
	case a.redial <- struct{}{}:
	default:
	}
}

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
