package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/store"
)

const grace = 2 * time.Second // 10 heartbeats: slack for a loaded machine

// env is a server side for the tests: etcd, a CA, a gateway and a stand-in
// for the API server's /v1/ca and /v1/join routes.
type env struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	ca    *pki.CA
	cert  tls.Certificate
	token string
	api   *httptest.Server
	log   *slog.Logger

	gw     atomic.Pointer[gateway.Gateway]
	stopGW func()
	gwOpts []func(*gateway.Config)
}

func testLogger() *slog.Logger {
	if os.Getenv("WHARF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t *testing.T, gwOpts ...func(*gateway.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	etcd, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)
	e := &env{t: t, ctx: ctx, st: store.New(etcd.Client, "/wharf"), log: testLogger(), gwOpts: gwOpts}
	if e.ca, err = pki.NewCA("wharf test CA"); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := e.ca.IssueServer([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e.cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	token, hash, err := pki.NewJoinToken(e.ca.Digest())
	if err != nil {
		t.Fatal(err)
	}
	e.token = token
	if err := e.st.Create(ctx, store.KindJoinTokens, &records.JoinToken{Meta: api.Meta{ID: "jt1"}, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	e.startGateway("127.0.0.1:0")
	t.Cleanup(func() { e.stopGW() })

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ca", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(e.ca.CertPEM())
	})
	mux.HandleFunc("POST /v1/join", func(w http.ResponseWriter, r *http.Request) {
		var req api.JoinRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var peer []*x509.Certificate
		if r.TLS != nil {
			peer = r.TLS.PeerCertificates
		}
		resp, err := e.gw.Load().Join(r.Context(), req, r.RemoteAddr, peer)
		if err != nil {
			status, code := http.StatusInternalServerError, api.CodeInternal
			switch {
			case errors.Is(err, errdefs.ErrUnauthorized):
				status, code = http.StatusUnauthorized, api.CodeUnauthorized
			case errors.Is(err, errdefs.ErrForbidden):
				status, code = http.StatusForbidden, api.CodeForbidden
			case errors.Is(err, errdefs.ErrInvalid):
				status, code = http.StatusBadRequest, api.CodeInvalid
			}
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: err.Error()}})
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	e.api = httptest.NewUnstartedServer(mux)
	e.api.TLS = &tls.Config{Certificates: []tls.Certificate{e.cert}, ClientAuth: tls.RequestClientCert} // as the API server
	e.api.StartTLS()
	t.Cleanup(e.api.Close)
	return e
}

// startGateway runs a gateway on addr until stopGW.
func (e *env) startGateway(addr string) {
	e.t.Helper()
	cfg := gateway.Config{Store: e.st, CA: e.ca, TLSCert: e.cert, Addr: addr, HeartbeatGrace: grace, Logger: e.log}
	for _, o := range e.gwOpts {
		o(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	select {
	case <-g.Ready():
	case err := <-done:
		e.t.Fatalf("gateway: %v", err)
	}
	e.gw.Store(g)
	var once sync.Once
	e.stopGW = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("gateway Run: %v", err)
			}
		})
	}
}

// agentProc is one running agent.
type agentProc struct {
	a      *agent.Agent
	dir    string
	drv    *memDriver
	cancel context.CancelFunc
	done   chan error
}

func (e *env) startAgent(dir, host, token string, drv *memDriver, opts ...func(*agent.Config)) *agentProc {
	e.t.Helper()
	cfg := agent.Config{
		ServerURL: e.api.URL, JoinToken: token, DataDir: dir, Labels: map[string]string{"zone": "a"},
		Drivers: []runtime.Driver{drv}, HeartbeatInterval: 200 * time.Millisecond, Hostname: host, Logger: e.log,
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := agent.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	p := &agentProc{a: a, dir: dir, drv: drv, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- a.Run(ctx) }()
	e.t.Cleanup(p.stop)
	return p
}

func (p *agentProc) stop() {
	p.cancel()
	<-p.done
	p.done <- nil // later stops return at once
}

func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (e *env) node(id string) api.Node {
	e.t.Helper()
	var n api.Node
	if err := e.st.Get(e.ctx, store.KindNodes, id, &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) container(id string) api.Container {
	e.t.Helper()
	var c api.Container
	if err := e.st.Get(e.ctx, store.KindContainers, id, &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) waitNodeState(id string, want api.NodeState, timeout time.Duration) {
	e.t.Helper()
	eventually(e.t, timeout, "node "+id+" "+string(want), func() error {
		if n := e.node(id); n.State != want {
			return fmt.Errorf("state %s", n.State)
		}
		return nil
	})
}

func (e *env) waitContainerState(id string, want api.ContainerState) api.Container {
	e.t.Helper()
	var c api.Container
	eventually(e.t, 10*time.Second, "container "+id+" "+string(want), func() error {
		if c = e.container(id); c.Status.State != want {
			return fmt.Errorf("state %q", c.Status.State)
		}
		return nil
	})
	return c
}

// waitAgentID waits for an agent to have joined.
func waitAgentID(t *testing.T, p *agentProc) string {
	t.Helper()
	eventually(t, 10*time.Second, "join", func() error {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("agent stopped: %v", err)
		default:
		}
		if p.a.NodeID() == "" {
			return errors.New("no node ID yet")
		}
		return nil
	})
	return p.a.NodeID()
}

func TestCluster(t *testing.T) {
	e := newEnv(t)

	// Three agents join and their nodes become Deployed with facts.
	var procs []*agentProc
	var ids []string
	for i := range 3 {
		p := e.startAgent(t.TempDir(), fmt.Sprintf("host-%d", i), e.token, newMemDriver())
		procs = append(procs, p)
		ids = append(ids, waitAgentID(t, p))
	}
	for i, id := range ids {
		e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
		n := e.node(id)
		if n.Hostname != fmt.Sprintf("host-%d", i) || n.OS == "" || n.Arch == "" || n.CPUs == 0 || n.AgentVersion == "" ||
			len(n.Drivers) != 1 || n.Drivers[0] != "fake" || n.Labels["zone"] != "a" || n.CertSerial == "" {
			t.Errorf("node %s facts: %+v", id, n)
		}
	}
	eventually(t, 5*time.Second, "3 sessions", func() error {
		if n := e.gw.Load().Connected(); n != 3 {
			return fmt.Errorf("%d connected", n)
		}
		return nil
	})
	if fi, err := os.Stat(procs[0].dir + "/node.key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("node.key: %v %v", fi.Mode(), err)
	}

	// Containers placed on nodes run and are reported Running.
	for i, id := range ids {
		for slot := 1; slot <= 2; slot++ {
			c := &api.Container{
				Meta: api.Meta{ID: fmt.Sprintf("c%d%d", i, slot), Name: fmt.Sprintf("web-%d", 2*i+slot)},
				Spec: api.ContainerSpec{Service: "svc1", Slot: 2*i + slot, Node: id, Command: []string{"sleep", "600"}, Desired: api.ContainerRunning,
					Autorestart: api.PolicyAlways},
				Status: api.ContainerStatus{State: api.ContainerPending},
			}
			if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range ids {
		for slot := 1; slot <= 2; slot++ {
			c := e.waitContainerState(fmt.Sprintf("c%d%d", i, slot), api.ContainerRunning)
			if c.Status.PID == 0 || c.Status.StartedAt.IsZero() || c.Status.HostPort == 0 {
				t.Errorf("%s status %+v", c.ID, c.Status)
			}
		}
		if n := procs[i].drv.running(); n != 2 {
			t.Errorf("node %d runs %d containers, want 2", i, n)
		}
	}

	// Logs stream through the gateway, following new output.
	t.Run("logs", func(t *testing.T) {
		c := e.container("c01")
		var buf bytes.Buffer
		if err := e.gw.Load().ContainerLogs(e.ctx, &c, false, 0, &buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "hi from web-1 on "+ids[0]) {
			t.Fatalf("logs %q", buf.String())
		}
		ctx, cancel := context.WithCancel(e.ctx)
		pr := &lockedBuffer{}
		done := make(chan error, 1)
		go func() { done <- e.gw.Load().ContainerLogs(ctx, &c, true, 0, pr) }()
		eventually(t, 5*time.Second, "first line", func() error { return pr.contains("hi from") })
		procs[0].drv.log("c01", "second line\n")
		eventually(t, 5*time.Second, "followed line", func() error { return pr.contains("second line") })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		unplaced := api.Container{Meta: api.Meta{ID: "x"}}
		if err := e.gw.Load().ContainerLogs(e.ctx, &unplaced, false, 0, &buf); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("unplaced: %v", err)
		}
		elsewhere := api.Container{Meta: api.Meta{ID: "x"}, Spec: api.ContainerSpec{Node: "nosuchnode"}}
		if err := e.gw.Load().ContainerLogs(e.ctx, &elsewhere, false, 0, &buf); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("not connected: %v", err)
		}
	})

	// A crashed container is restarted by its agent.
	t.Run("restart after crash", func(t *testing.T) {
		if err := procs[1].drv.end("c11", 1); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "restart", func() error {
			c := e.container("c11")
			if c.Status.State != api.ContainerRunning || c.Status.RestartCount != 1 {
				return fmt.Errorf("status %+v", c.Status)
			}
			return nil
		})
		if n := procs[1].drv.startCount("c11"); n != 2 {
			t.Fatalf("started %d times", n)
		}
	})

	// Autorestart OFF (the default) leaves an exited container Stopped with
	// its exit code; ON_FAILURE restarts a failure, not a success.
	t.Run("autorestart policies", func(t *testing.T) {
		for _, tc := range []struct {
			id, policy string
			code       int
			restarts   bool
		}{{"off1", "", 3, false}, {"onf1", api.PolicyOnFailure, 0, false}, {"onf2", api.PolicyOnFailure, 2, true}} {
			c := &api.Container{
				Meta: api.Meta{ID: tc.id, Name: tc.id},
				Spec: api.ContainerSpec{Service: "pol", Slot: 1, Node: ids[2], Command: []string{"sleep", "600"},
					Desired: api.ContainerRunning, Autorestart: tc.policy},
				Status: api.ContainerStatus{State: api.ContainerPending},
			}
			if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
				t.Fatal(err)
			}
			e.waitContainerState(tc.id, api.ContainerRunning)
			if err := procs[2].drv.end(tc.id, tc.code); err != nil {
				t.Fatal(err)
			}
			if tc.restarts {
				eventually(t, 10*time.Second, "restart "+tc.id, func() error {
					if c := e.container(tc.id); c.Status.State != api.ContainerRunning || c.Status.RestartCount != 1 {
						return fmt.Errorf("status %+v", c.Status)
					}
					return nil
				})
				continue
			}
			got := e.waitContainerState(tc.id, api.ContainerStopped)
			time.Sleep(1500 * time.Millisecond) // past the first backoff
			got = e.container(tc.id)
			if got.Status.State != api.ContainerStopped || got.Status.ExitCode == nil || *got.Status.ExitCode != tc.code ||
				procs[2].drv.startCount(tc.id) != 1 {
				t.Errorf("%s: status %+v, started %d times", tc.id, got.Status, procs[2].drv.startCount(tc.id))
			}
		}
	})

	// Desired Stopped stops; Terminated stops and removes.
	t.Run("stop and terminate", func(t *testing.T) {
		setDesired(t, e, "c02", api.ContainerStopped)
		c := e.waitContainerState("c02", api.ContainerStopped)
		if c.Status.ExitCode == nil || *c.Status.ExitCode != 143 {
			t.Errorf("stopped status %+v", c.Status)
		}
		setDesired(t, e, "c02", api.ContainerTerminated)
		e.waitContainerState("c02", api.ContainerTerminated)
		if _, err := procs[0].drv.Inspect(e.ctx, "c02"); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("c02 still in the driver: %v", err)
		}
	})

	// A stopped agent's node becomes Unreachable; restarted from its data
	// dir without a token it is Deployed again and nothing restarted.
	t.Run("agent restart", func(t *testing.T) {
		before := e.container("c21")
		procs[2].stop()
		e.waitNodeState(ids[2], api.NodeUnreachable, 5*time.Second)
		procs[2] = e.startAgent(procs[2].dir, "host-2", "", procs[2].drv)
		e.waitNodeState(ids[2], api.NodeDeployed, 10*time.Second)
		if procs[2].a.NodeID() != ids[2] {
			t.Fatalf("node id %s, want %s", procs[2].a.NodeID(), ids[2])
		}
		after := e.container("c21")
		if after.Status.PID != before.Status.PID || !after.Status.StartedAt.Equal(before.Status.StartedAt) || after.Status.State != api.ContainerRunning {
			t.Fatalf("container changed: before %+v after %+v", before.Status, after.Status)
		}
		if n := procs[2].drv.startCount("c21"); n != 1 {
			t.Fatalf("c21 started %d times", n)
		}
	})

	// The gateway restarts under running agents: they reconnect, nothing
	// restarts.
	t.Run("gateway restart", func(t *testing.T) {
		addr := e.gw.Load().Addr()
		e.stopGW()
		e.startGateway(addr)
		eventually(t, 15*time.Second, "3 sessions again", func() error {
			if n := e.gw.Load().Connected(); n != 3 {
				return fmt.Errorf("%d connected", n)
			}
			return nil
		})
		for _, id := range ids {
			if n := e.node(id); n.State != api.NodeDeployed {
				t.Errorf("node %s %s", id, n.State)
			}
		}
		// New assignments still arrive after the reconnect.
		c := &api.Container{
			Meta: api.Meta{ID: "c03", Name: "web-9"},
			Spec: api.ContainerSpec{Service: "svc1", Slot: 9, Node: ids[0], Command: []string{"sleep", "600"}, Desired: api.ContainerRunning},
		}
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
		e.waitContainerState("c03", api.ContainerRunning)
		for i := range ids {
			for slot := 1; slot <= 2; slot++ {
				id := fmt.Sprintf("c%d%d", i, slot)
				want := 1
				if id == "c11" {
					want = 2
				}
				if id == "c02" {
					continue
				}
				if n := procs[i].drv.startCount(id); n != want {
					t.Errorf("%s started %d times, want %d", id, n, want)
				}
			}
		}
	})

	// A container deleted from the store is an orphan: its agent removes it.
	t.Run("orphan", func(t *testing.T) {
		if err := e.st.Delete(e.ctx, store.KindContainers, "c12", 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "orphan removed", func() error {
			if _, err := procs[1].drv.Inspect(e.ctx, "c12"); !errors.Is(err, runtime.ErrNotFound) {
				return fmt.Errorf("still there: %v", err)
			}
			return nil
		})
	})
}

func TestStopContainersOnExit(t *testing.T) {
	e := newEnv(t)
	drv := newMemDriver()
	p := e.startAgent(t.TempDir(), "host-x", e.token, drv, func(c *agent.Config) { c.StopContainersOnExit = true })
	id := waitAgentID(t, p)
	c := &api.Container{
		Meta: api.Meta{ID: "x1", Name: "job-1"},
		Spec: api.ContainerSpec{Service: "job", Slot: 1, Node: id, Command: []string{"sleep", "600"}, Desired: api.ContainerRunning},
	}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	e.waitContainerState("x1", api.ContainerRunning)
	p.stop()
	if n := drv.running(); n != 0 {
		t.Fatalf("%d containers still run after the agent stopped", n)
	}
}

func setDesired(t *testing.T, e *env, id string, d api.ContainerState) {
	t.Helper()
	var c api.Container
	if err := e.st.Modify(e.ctx, store.KindContainers, id, &c, func() ([]api.Event, error) {
		c.Spec.Desired = d
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) contains(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !strings.Contains(l.b.String(), s) {
		return fmt.Errorf("output %q lacks %q", l.b.String(), s)
	}
	return nil
}
