package gateway_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/store"
)

// openHeartbeats opens the heartbeat stream of a fake agent's session.
func (a *fakeAgent) openHeartbeats(t *testing.T) net.Conn {
	t.Helper()
	conn, resp, br := a.requestHeartbeats(t)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != api.HeartbeatsUpgrade || br.Buffered() != 0 {
		t.Fatalf("answered %s, Upgrade %q, %d bytes more", resp.Status, resp.Header.Get("Upgrade"), br.Buffered())
	}
	_ = conn.SetDeadline(time.Time{})
	return conn
}

// requestHeartbeats asks for the heartbeat stream on a new stream of the
// session and reads the answer.
func (a *fakeAgent) requestHeartbeats(t *testing.T) (net.Conn, *http.Response, *bufio.Reader) {
	t.Helper()
	conn, err := a.mux.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, _ := http.NewRequest(http.MethodPost, "http://gateway"+api.HeartbeatsPath, http.NoBody)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", api.HeartbeatsUpgrade)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	return conn, resp, br
}

// beat sends a heartbeat on the stream and reads its ack.
func beat(conn net.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{api.HeartbeatByte}); err != nil {
		return err
	}
	b := []byte{0}
	if _, err := io.ReadFull(conn, b); err != nil {
		return err
	}
	if b[0] != api.HeartbeatAckByte {
		return fmt.Errorf("ack %q", b[0])
	}
	return nil
}

// deployedFakeAgent is a node n1 whose fake agent said hello: Deployed.
func deployedFakeAgent(t *testing.T, e *env) *fakeAgent {
	t.Helper()
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeploying, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	a := dialFakeAgent(t, e, cert, http.NotFoundHandler())
	if status, eb := a.post(t, "/agent/v1/hello", `{"hostname":"n1","os":"linux"}`); status != http.StatusOK {
		t.Fatalf("hello: %d %+v", status, eb)
	}
	e.waitNodeState("n1", api.NodeDeployed, 5*time.Second)
	return a
}

// Heartbeats on the stream keep the node Deployed past the grace, and a
// node marked Unreachable (silent past the grace, its session still open)
// is Deployed again in the store before its heartbeat is acked.
func TestHeartbeatStream(t *testing.T) {
	e := newEnv(t)
	a := deployedFakeAgent(t, e)
	hb := a.openHeartbeats(t)
	for end := time.Now().Add(2 * grace); time.Now().Before(end); time.Sleep(grace / 10) {
		if err := beat(hb); err != nil {
			t.Fatal(err)
		}
		if st := e.node("n1").State; st != api.NodeDeployed {
			t.Fatalf("node %s while heartbeating", st)
		}
	}
	if n := countState(e.nodeEvents("n1"), api.NodeUnreachable); n != 0 {
		t.Fatalf("%d events Unreachable while heartbeating", n)
	}

	e.waitNodeState("n1", api.NodeUnreachable, 3*grace)
	if err := beat(hb); err != nil {
		t.Fatal(err)
	}
	if st := e.node("n1").State; st != api.NodeDeployed {
		t.Fatalf("node %s once its heartbeat was acked, want Deployed first", st)
	}
	if err := beat(hb); err != nil {
		t.Fatal(err)
	}
}

// A byte that is not a heartbeat ends the stream, unanswered.
func TestHeartbeatStreamGarbage(t *testing.T) {
	e := newEnv(t)
	a := deployedFakeAgent(t, e)
	hb := a.openHeartbeats(t)
	if err := beat(hb); err != nil {
		t.Fatal(err)
	}
	_ = hb.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := hb.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	n, err := io.ReadFull(hb, []byte{0})
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after garbage: %d bytes, %v; want the stream closed", n, err)
	}
	// The session itself is fine: a new stream works.
	if err := beat(a.openHeartbeats(t)); err != nil {
		t.Fatal(err)
	}
}

// The heartbeat route takes only the upgrade: a plain request, or one with
// a body, is refused and the stream is not taken over.
func TestHeartbeatStreamRefusesPlainRequests(t *testing.T) {
	e := newEnv(t)
	a := deployedFakeAgent(t, e)
	for _, body := range []string{"", "{}"} {
		if status, _ := a.post(t, api.HeartbeatsPath, body); status != http.StatusBadRequest {
			t.Errorf("POST %s without Upgrade, body %q: %d, want 400", api.HeartbeatsPath, body, status)
		}
	}
	if err := beat(a.openHeartbeats(t)); err != nil { // the route still upgrades
		t.Fatal(err)
	}
}

// A session has one heartbeat stream at a time: each holds a goroutine of
// the gateway's, so a second is refused while the first is open.
func TestOneHeartbeatStreamPerSession(t *testing.T) {
	e := newEnv(t)
	a := deployedFakeAgent(t, e)
	hb := a.openHeartbeats(t)
	if _, resp, _ := a.requestHeartbeats(t); resp.StatusCode != http.StatusConflict {
		t.Fatalf("a second heartbeat stream: %s, want 409", resp.Status)
	}
	if err := beat(hb); err != nil { // the first still works
		t.Fatal(err)
	}
	// Once it ends, another may open (as soon as the gateway has seen
	// the first one's end).
	_ = hb.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		conn, resp, _ := a.requestHeartbeats(t)
		if resp.StatusCode == http.StatusSwitchingProtocols {
			_ = conn.SetDeadline(time.Time{})
			if err := beat(conn); err != nil {
				t.Fatal(err)
			}
			break
		}
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("a heartbeat stream after the first closed: %s", resp.Status)
		}
	}
}

// An agent of an earlier version heartbeats with a request each: it still
// keeps its node, and brings it back from Unreachable before the 204.
func TestHeartbeatRequest(t *testing.T) {
	e := newEnv(t)
	a := deployedFakeAgent(t, e)
	e.waitNodeState("n1", api.NodeUnreachable, 3*grace)
	if status, eb := a.post(t, "/agent/v1/heartbeat", ""); status != http.StatusNoContent {
		t.Fatalf("heartbeat: %d %+v", status, eb)
	}
	if st := e.node("n1").State; st != api.NodeDeployed {
		t.Fatalf("node %s once its heartbeat was answered, want Deployed first", st)
	}
}

// An agent heartbeats on the stream, which keeps its node Deployed past
// the grace.
func TestAgentHeartbeatsOnTheStream(t *testing.T) {
	e := newEnv(t)
	logs := &lockedBuffer{}
	p := e.startAgent(t.TempDir(), "host-hb", e.token, newMemDriver(), func(c *agent.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	eventually(t, 5*time.Second, "the heartbeat stream", func() error { return logs.contains("heartbeats on the heartbeat stream") })
	time.Sleep(2 * grace)
	if st := e.node(id).State; st != api.NodeDeployed {
		t.Fatalf("node %s", st)
	}
	if err := logs.contains("earlier version"); err == nil {
		t.Fatal("the agent fell back to a request per heartbeat")
	}
	if n := countState(e.nodeEvents(id), api.NodeUnreachable); n != 0 {
		t.Fatalf("%d events Unreachable", n)
	}
}
