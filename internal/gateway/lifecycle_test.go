package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/store"
)

// nodeEvents lists the stored events of one node.
func (e *env) nodeEvents(id string) []api.Event {
	e.t.Helper()
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range all {
		if ev.Kind == "node" && ev.Object == id {
			out = append(out, ev)
		}
	}
	return out
}

func countState(evs []api.Event, st api.NodeState) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == "state" && ev.State == string(st) {
			n++
		}
	}
	return n
}

// Short-lived certificates are renewed over the live session, again and
// again, without a reconnect and without a missed heartbeat.
func TestCertificateRenewal(t *testing.T) {
	// 8 s certificates renew every 4 to 6.4 s, leaving slack for a loaded
	// machine; 20 s see at least three.
	e := newEnv(t, func(c *gateway.Config) { c.NodeCertValidity = 8 * time.Second })
	logs := &lockedBuffer{}
	dir := t.TempDir()
	p := e.startAgent(dir, "host-renew", e.token, newMemDriver(), func(c *agent.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	first, err := tls.LoadX509KeyPair(dir+"/node.crt", dir+"/node.key")
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]bool{e.node(id).CertSerial: true}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		serials[e.node(id).CertSerial] = true
		time.Sleep(100 * time.Millisecond)
	}
	if len(serials) < 3 {
		t.Fatalf("%d certificates in 20s of 8s certificates, want at least 3", len(serials))
	}
	if n := strings.Count(logs.String(), "connected to the gateway"); n != 1 {
		t.Errorf("the agent connected %d times, want once (the session must survive renewals)", n)
	}
	evs := e.nodeEvents(id)
	if n := countState(evs, api.NodeUnreachable); n != 0 {
		t.Errorf("%d Unreachable transitions during renewals", n)
	}
	if n := e.node(id).State; n != api.NodeDeployed {
		t.Errorf("node %s after renewals", n)
	}
	// The saved pair is the current certificate; the first one is refused.
	saved, err := tls.LoadX509KeyPair(dir+"/node.crt", dir+"/node.key")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := saved.Leaf.SerialNumber.String(), e.node(id).CertSerial; got != want {
		// A renewal may be in flight; look once more.
		time.Sleep(time.Second)
		if saved, err = tls.LoadX509KeyPair(dir+"/node.crt", dir+"/node.key"); err != nil || saved.Leaf.SerialNumber.String() != e.node(id).CertSerial {
			t.Errorf("saved serial %s, stored %s", got, want)
		}
	}
	if err := dialGateway(t, e, first); err == nil {
		t.Error("the certificate replaced by a renewal still opens a session")
	}
	// The renewed identity survives an agent restart.
	p.stop()
	p = e.startAgent(dir, "host-renew", "", newMemDriver())
	eventually(t, 10*time.Second, "reconnect with the renewed certificate", func() error {
		if n := e.gw.Load().Connected(); n != 1 {
			return fmt.Errorf("%d sessions", n)
		}
		return nil
	})
	_ = p
}

// expiredCert signs a certificate for nodeID whose validity ended an hour ago.
func expiredCert(t *testing.T, ca *pki.CA, nodeID string) tls.Certificate {
	t.Helper()
	key, csrPEM, err := pki.NewKeyAndCSR(nodeID)
	if err != nil {
		t.Fatal(err)
	}
	good, err := tls.X509KeyPair(mustSign(t, ca, csrPEM, nodeID), key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: nodeID},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     time.Now().Add(-time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, good.Leaf.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	good.Certificate = [][]byte{der}
	good.Leaf, _ = x509.ParseCertificate(der)
	return good
}

func mustSign(t *testing.T, ca *pki.CA, csr []byte, nodeID string) []byte {
	t.Helper()
	c, _, err := ca.SignNodeCSR(csr, nodeID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// helloAs opens a session with cert and says hello; it returns the status
// and error code of the answer.
func helloAs(t *testing.T, e *env, cert tls.Certificate) (int, string, error) {
	t.Helper()
	return postAs(t, e, cert, "/agent/v1/hello", `{"hostname":"x"}`)
}

// postAs opens a session with cert and POSTs body (JSON) to one of the
// gateway's agent routes: the answer's status and error code.
func postAs(t *testing.T, e *env, cert tls.Certificate, path, body string) (int, string, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca.CertPEM())
	conn, err := tls.Dial("tcp", e.gw.Load().Addr(), &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1",
	})
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	ycfg := yamux.DefaultConfig()
	ycfg.LogOutput = io.Discard
	mux, err := yamux.Client(conn, ycfg)
	if err != nil {
		return 0, "", err
	}
	defer mux.Close()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return mux.Open() },
	}}
	resp, err := hc.Post("http://gateway"+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error.Code, nil
}

// Every way in without a valid, current certificate is refused.
func TestGatewayRefusals(t *testing.T) {
	e := newEnv(t)
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeploying, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	if err := dialGateway(t, e, tls.Certificate{}); err == nil {
		t.Error("no client certificate: accepted")
	}
	if err := dialGateway(t, e, expiredCert(t, e.ca, "n1")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("expired certificate: %v, want a refused handshake", err)
	}
	// A certificate of a node that no longer exists: told so.
	gone, _ := nodeCert(t, e.ca, "gone")
	code, ecode, err := helloAs(t, e, gone)
	if err != nil || code != http.StatusForbidden || ecode != api.CodeNodeRemoved {
		t.Errorf("removed node: %d %q %v, want 403 %s", code, ecode, err, api.CodeNodeRemoved)
	}
	// The node's own certificate says hello.
	if code, _, err := helloAs(t, e, cert); err != nil || code != http.StatusOK {
		t.Errorf("own certificate: %d %v", code, err)
	}
	// A Terminated node is as good as gone.
	var n api.Node
	if err := e.st.Modify(e.ctx, store.KindNodes, "n1", &n, func() ([]api.Event, error) {
		n.State = api.NodeTerminated
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if code, ecode, err := helloAs(t, e, cert); err != nil || code != http.StatusForbidden || ecode != api.CodeNodeRemoved {
		t.Errorf("terminated node: %d %q %v", code, ecode, err)
	}
}

// A removed node's agent loses its session within seconds, learns why,
// stops and removes its containers and exits with an error saying how to
// rejoin.
func TestRemovedNodeStopsItsAgent(t *testing.T) {
	e := newEnv(t)
	drv := newMemDriver()
	p := e.startAgent(t.TempDir(), "host-rm", e.token, drv)
	id := waitAgentID(t, p)
	c := &api.Container{
		Meta: api.Meta{ID: "r1", Name: "web-1"},
		Spec: api.ContainerSpec{Service: "web", Slot: 1, Node: id, Command: []string{"sleep", "600"}, Desired: api.ContainerRunning},
	}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	e.waitContainerState("r1", api.ContainerRunning)
	if err := e.st.Delete(e.ctx, store.KindNodes, id, 0); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-p.done:
		p.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("the agent of a removed node kept running")
	}
	if err == nil || !strings.Contains(err.Error(), "removed") || !strings.Contains(err.Error(), "join again") {
		t.Fatalf("agent error %v: want one that says the node was removed and how to join again", err)
	}
	if list, _ := drv.List(e.ctx); len(list) != 0 {
		t.Fatalf("%d containers left on the removed node", len(list))
	}
	if _, err := drv.Inspect(e.ctx, "r1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("r1 still there: %v", err)
	}
}

// A node back with a new address updates its record and is Deployed again;
// a rejoin keeps the labels the user set since the first join.
func TestNodeComesBack(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := e.startAgent(dir, "host-b", e.token, newMemDriver(), func(c *agent.Config) { c.Addresses = []string{"10.0.0.1"} })
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	n := e.node(id)
	if n.Kernel == "" || n.DiskBytes <= 0 || n.ClockOffsetMS > 5000 || n.ClockOffsetMS < -5000 || n.Addresses[0] != "10.0.0.1" {
		t.Errorf("facts: kernel %q disk %d clock offset %dms addresses %v", n.Kernel, n.DiskBytes, n.ClockOffsetMS, n.Addresses)
	}
	p.stop()
	e.waitNodeState(id, api.NodeUnreachable, 5*time.Second)
	p = e.startAgent(dir, "host-b", "", newMemDriver(), func(c *agent.Config) { c.Addresses = []string{"10.0.0.2"} })
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	if got := e.node(id).Addresses; len(got) != 1 || got[0] != "10.0.0.2" {
		t.Fatalf("addresses after coming back: %v", got)
	}
	evs := e.nodeEvents(id)
	if countState(evs, api.NodeUnreachable) != 1 || countState(evs, api.NodeDeployed) != 2 {
		t.Errorf("events: %+v", evs)
	}

	// The user relabels the node; a rejoin with the join labels keeps them.
	if err := e.st.Modify(e.ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		n.Labels = map[string]string{"zone": "b", "ssd": "yes"}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	p.stop()
	// A damaged identity (ca.crt lost) with the key and certificate
	// still there: the agent rejoins, proving it is the node with them.
	if err := removeFile(dir + "/ca.crt"); err != nil {
		t.Fatal(err)
	}
	e.startAgent(dir, "host-b", e.token, newMemDriver()) // Labels zone=a
	eventually(t, 10*time.Second, "rejoined", func() error {
		if n := e.node(id); n.State != api.NodeDeployed || n.CertSerial == "" {
			return fmt.Errorf("state %s", n.State)
		}
		return nil
	})
	if l := e.node(id).Labels; l["zone"] != "b" || l["ssd"] != "yes" || len(l) != 2 {
		t.Fatalf("labels after rejoin: %v, want the user's zone=b,ssd=yes", l)
	}
}

func removeFile(path string) error { return os.Remove(path) }

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A renewal whose answer never reached the agent must not lock the node
// out: the certificate before the stored one still opens a session.
func TestLostRenewalAnswerKeepsTheNodeIn(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := e.startAgent(dir, "host-lost", e.token, newMemDriver())
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	p.stop()
	eventually(t, 10*time.Second, "the session gone", func() error {
		if c := e.gw.Load().Connected(); c != 0 {
			return fmt.Errorf("%d sessions", c)
		}
		return nil
	})
	// The gateway stored a new serial, but the agent never got the certificate.
	var n api.Node
	if err := e.st.Modify(e.ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		n.PrevCertSerial, n.CertSerial = n.CertSerial, "424242"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	p = e.startAgent(dir, "host-lost", "", newMemDriver())
	eventually(t, 10*time.Second, "the agent back on its previous certificate", func() error {
		if c := e.gw.Load().Connected(); c != 1 {
			return fmt.Errorf("%d sessions", c)
		}
		return nil
	})
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	p.stop()
	// Two renewals on, that certificate is retired.
	if err := e.st.Modify(e.ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		n.PrevCertSerial, n.CertSerial = "424242", "434343"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	old, err := tls.LoadX509KeyPair(dir+"/node.crt", dir+"/node.key")
	if err != nil {
		t.Fatal(err)
	}
	if err := dialGateway(t, e, old); err == nil {
		t.Error("a certificate two renewals old still opens a session")
	}
}
