// Package testcluster runs a whole Wharf cluster inside one test process: a
// real server (embedded etcd, API over TLS, gateway, controllers) on free
// loopback ports, and agents with any driver. Tests and benchmarks use it;
// production code never imports it.
package testcluster

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// Options tune a test cluster.
type Options struct {
	HeartbeatGrace time.Duration // default 15s
	NodeLossGrace  time.Duration // default 30s
	Logger         *slog.Logger  // default: discard
	EtcdEndpoints  []string      // default: embedded etcd
	// Etcd is how to log in to the external etcd (its Endpoints are
	// EtcdEndpoints).
	Etcd store.External
	// Token is the admin token to use; default: the one the server wrote to
	// its data dir (a second server on a shared etcd writes none).
	Token string
	// ACME is the server's --acme-directory and friends (nil: none).
	ACME *api.ACMEConfig
	// Docker serves the Docker Engine API (--docker-addr) on a free port:
	// Cluster.DockerAddr, and DockerEnv for a client certificate.
	Docker bool
}

// Cluster is a running in-process server.
type Cluster struct {
	URL     string
	Token   string
	CAPEM   []byte
	DataDir string
	Client  *client.Client
	// DockerAddr is the Docker endpoint's host:port (Options.Docker).
	DockerAddr string

	tb     testing.TB
	opts   Options
	cfg    server.Config
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	join   string
	agents []*Agent
}

// Start runs a server and waits until it is ready. It is stopped when the
// test ends.
func Start(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir := tb.TempDir()
	c := &Cluster{tb: tb, opts: o, DataDir: dir}
	c.cfg = server.Config{
		DataDir: filepath.Join(dir, "server"), Addr: freeAddr(tb), AgentAddr: freeAddr(tb),
		Advertise: "127.0.0.1", HeartbeatGrace: o.HeartbeatGrace, NodeLossGrace: o.NodeLossGrace, Logger: o.Logger,
		Version: api.Version{Version: "test"}, Out: io.Discard, EtcdEndpoints: o.EtcdEndpoints, Etcd: o.Etcd,
	}
	if o.ACME != nil {
		c.cfg.ACME = *o.ACME
	}
	if o.Docker {
		c.cfg.DockerAddr = freeAddr(tb)
		c.DockerAddr = c.cfg.DockerAddr
	}
	c.URL = "https://" + c.cfg.Addr
	c.startServer()
	tb.Cleanup(c.Stop)
	return c
}

func (c *Cluster) startServer() {
	tb := c.tb
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan error, 1)
	go func() { c.done <- server.Run(ctx, c.cfg) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-c.done:
			tb.Fatalf("server exited while starting: %v", err)
		default:
		}
		if c.tryConnect() == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server not ready within 60s: %v", c.tryConnect())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) tryConnect() error {
	tok := []byte(c.opts.Token)
	if len(tok) == 0 {
		var err error
		if tok, err = os.ReadFile(filepath.Join(c.cfg.DataDir, "admin-token")); err != nil {
			return err
		}
	}
	ca, err := os.ReadFile(filepath.Join(c.cfg.DataDir, "ca.crt"))
	if err != nil {
		return err
	}
	c.Token, c.CAPEM = strings.TrimSpace(string(tok)), ca
	cl, err := client.New(client.Options{Addr: c.URL, Token: c.Token, CACert: ca})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := cl.Do(ctx, "GET", "/readyz", nil, nil); err != nil {
		return err
	}
	c.Client = cl
	return nil
}

// StopServer stops the server alone (agents keep running).
func (c *Cluster) StopServer() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	if err := <-c.done; err != nil {
		c.tb.Errorf("server: %v", err)
	}
	c.cancel = nil
}

// RestartServer stops the server and starts it again on the same data dir
// and ports.
func (c *Cluster) RestartServer() {
	c.StopServer()
	c.startServer()
}

// Stop stops every agent, then the server.
func (c *Cluster) Stop() {
	c.mu.Lock()
	agents := c.agents
	c.agents = nil
	c.mu.Unlock()
	for _, a := range agents {
		a.Stop()
	}
	c.StopServer()
}

// Agent is an agent running in the test process.
type Agent struct {
	*agent.Agent
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned; read after done
	Dir    string
}

// Stop stops the agent (its containers keep running, as in production,
// unless the drivers say otherwise).
func (a *Agent) Stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	<-a.done
	a.cancel = nil
}

// Exited reports whether the agent's Run has returned, and its error.
func (a *Agent) Exited() (bool, error) {
	select {
	case <-a.done:
		return true, a.err
	default:
		return false, nil
	}
}

// AddAgent joins an agent named name with the given drivers.
func (c *Cluster) AddAgent(name string, labels map[string]string, drivers ...runtime.Driver) *Agent {
	return c.StartAgent(filepath.Join(c.DataDir, name), name, labels, drivers...)
}

// StartAgent runs an agent on a given data dir (an existing one rejoins as
// the same node).
func (c *Cluster) StartAgent(dir, name string, labels map[string]string, drivers ...runtime.Driver) *Agent {
	c.tb.Helper()
	return c.StartAgentWith(dir, name, labels, nil, drivers...)
}

// StartAgentWith is StartAgent with tweak applied to the agent's Config
// (its node's policy: AllowBind and the like); tweak may be nil.
func (c *Cluster) StartAgentWith(dir, name string, labels map[string]string, tweak func(*agent.Config), drivers ...runtime.Driver) *Agent {
	tb := c.tb
	tb.Helper()
	c.mu.Lock()
	if c.join == "" {
		jt, err := c.Client.JoinToken(context.Background(), false)
		if err != nil {
			c.mu.Unlock()
			tb.Fatalf("join token: %v", err)
		}
		c.join = jt.Token
	}
	join := c.join
	c.mu.Unlock()
	cfg := agent.Config{
		ServerURL: c.URL, JoinToken: join, DataDir: dir, Labels: labels, Drivers: drivers,
		HeartbeatInterval: 500 * time.Millisecond, Hostname: name, Logger: c.opts.Logger,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := agent.New(cfg)
	if err != nil {
		tb.Fatalf("agent %s: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Agent{Agent: a, cancel: cancel, done: make(chan struct{}), Dir: dir}
	go func() {
		defer close(h.done)
		h.err = a.Run(ctx)
	}()
	c.mu.Lock()
	c.agents = append(c.agents, h)
	c.mu.Unlock()
	return h
}

// Eventually polls fn until it returns nil, failing the test after timeout.
func Eventually(tb testing.TB, timeout time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
