package gateway_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/gateway"
)

// cutProxy forwards TCP connections to the gateway. cut makes the
// connections it carries a dead link: nothing goes through either way and
// nothing is closed, as when a host loses power or a cable is pulled.
// Connections opened after a cut are forwarded.
type cutProxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string // the gateway's address
	pairs  []*proxyPair
	conns  []net.Conn
}

type proxyPair struct {
	dead chan struct{} // closed by cut
	// serverGone is closed when the gateway closed its end.
	serverGone chan struct{}
}

func newCutProxy(t *testing.T) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		agentConn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		gwConn, err := net.Dial("tcp", target)
		if err != nil {
			_ = agentConn.Close()
			continue
		}
		pair := &proxyPair{dead: make(chan struct{}), serverGone: make(chan struct{})}
		p.mu.Lock()
		p.pairs = append(p.pairs, pair)
		p.conns = append(p.conns, agentConn, gwConn)
		p.mu.Unlock()
		go func() { pair.pipe(gwConn, agentConn); _ = gwConn.Close() }()
		go func() { pair.pipe(agentConn, gwConn); close(pair.serverGone) }()
	}
}

// pipe copies from src to dst until src ends, dropping what it reads once
// the pair is dead.
func (pp *proxyPair) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-pp.dead:
			default:
				_, _ = dst.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.pairs {
		select {
		case <-pp.dead:
		default:
			close(pp.dead)
		}
	}
}

func (p *cutProxy) snapshot() []*proxyPair {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*proxyPair(nil), p.pairs...)
}

// TestSilentSessionIsClosed: the gateway keeps a heartbeating agent's
// session for many times its silence bound, closes it once a dead link
// leaves it silent for the bound (it runs no yamux keepalive: this is what
// detects a vanished agent), and the agent comes back over a new session.
func TestSilentSessionIsClosed(t *testing.T) {
	const silence = 1500 * time.Millisecond
	proxy := newCutProxy(t)
	e := newEnv(t, func(c *gateway.Config) {
		c.Advertise = proxy.ln.Addr().String()
		c.SessionSilence = silence
	})
	proxy.mu.Lock()
	proxy.target = e.gw.Load().Addr()
	proxy.mu.Unlock()
	p := e.startAgent(t.TempDir(), "host-s", e.token, newMemDriver()) // heartbeats every 200 ms
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)

	// Alive: the session stays, the agent never dials again.
	time.Sleep(3 * silence)
	pairs := proxy.snapshot()
	if len(pairs) != 1 {
		t.Fatalf("%d connections through the proxy while the agent was heartbeating, want 1", len(pairs))
	}
	select {
	case <-pairs[0].serverGone:
		t.Fatal("the gateway closed the session of a heartbeating agent")
	default:
	}

	cut := time.Now()
	proxy.cut()
	select {
	case <-pairs[0].serverGone:
		// The last heartbeat arrived at most 200 ms before the cut.
		if took := time.Since(cut); took < silence-300*time.Millisecond {
			t.Errorf("the gateway closed the session %s after the cut, before the bound %s", took, silence)
		} else {
			t.Logf("session closed %s after the cut (bound %s)", took, silence)
		}
	case <-time.After(silence + 3*time.Second):
		t.Fatalf("the gateway still holds the session %s after its link died (bound %s)", time.Since(cut), silence)
	}

	// The agent gives its session up too (an unanswered heartbeat) and
	// dials again; the new connection goes through.
	eventually(t, 20*time.Second, "the agent back over a new session", func() error {
		if n := len(proxy.snapshot()); n < 2 || e.gw.Load().Connected() != 1 {
			return fmt.Errorf("%d connections, %d sessions", n, e.gw.Load().Connected())
		}
		return nil
	})
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
}

// TestSessionSilenceFor: twice the heartbeat grace, never below 16 s
// (above the agent's 15 s keepalive).
func TestSessionSilenceFor(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		gateway.DefaultHeartbeatGrace: 16 * time.Second,
		time.Second:                   16 * time.Second,
		30 * time.Second:              time.Minute,
	} {
		if got := gateway.SessionSilenceFor(grace); got != want {
			t.Errorf("SessionSilenceFor(%s) = %s, want %s", grace, got, want)
		}
	}
}
