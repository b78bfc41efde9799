package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/store"
)

func TestJoinRefused(t *testing.T) {
	e := newEnv(t)
	other, err := pki.NewCA("another cluster")
	if err != nil {
		t.Fatal(err)
	}
	otherToken, _, err := pki.NewJoinToken(other.Digest())
	if err != nil {
		t.Fatal(err)
	}
	// Same CA digest as ours, unknown secret.
	good, _ := pki.ParseJoinToken(e.token)
	wrong, _ := pki.ParseJoinToken(otherToken)
	wrongSecret := pki.JoinToken{CADigest: good.CADigest, Secret: wrong.Secret}.String()
	_, csr, err := pki.NewKeyAndCSR("h")
	if err != nil {
		t.Fatal(err)
	}

	gw := e.gw.Load()
	for name, tok := range map[string]string{"malformed": "WHARF-1-nope", "other CA": otherToken, "unknown secret": wrongSecret} {
		_, err := gw.Join(e.ctx, api.JoinRequest{Token: tok, CSR: string(csr), Hostname: "h"}, "test", nil)
		if !errors.Is(err, errdefs.ErrUnauthorized) {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	for field, req := range map[string]api.JoinRequest{
		"hostname": {Token: e.token, CSR: string(csr), Hostname: "bad host!"},
		"labels":   {Token: e.token, CSR: string(csr), Hostname: "h", Labels: map[string]string{"=x": "y"}},
		"csr":      {Token: e.token, CSR: "garbage", Hostname: "h"},
	} {
		_, err := gw.Join(e.ctx, req, "test", nil)
		var fe *errdefs.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want an invalid %s", field, err, field)
		}
	}

	// Agents with a bad token fail Run with a clear error.
	run := func(token string) error {
		a, err := agent.New(agent.Config{ServerURL: e.api.URL, JoinToken: token, DataDir: t.TempDir(),
			Drivers: []runtime.Driver{newMemDriver()}, Hostname: "h", Logger: e.log})
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- a.Run(e.ctx) }()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("agent with a bad token kept running")
			return nil
		}
	}
	if err := run(wrongSecret); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unknown secret: %v", err)
	}
	if err := run(otherToken); err == nil || !strings.Contains(err.Error(), "does not match the digest") {
		t.Errorf("other CA: %v", err)
	}
	nodes, _, err := store.ListAll[api.Node](e.ctx, e.st, store.KindNodes)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("nodes after refused joins: %d %v", len(nodes), err)
	}
}

// dialGateway connects with a client certificate and reports whether the
// gateway kept the connection open.
func dialGateway(t *testing.T, e *env, cert tls.Certificate) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca.CertPEM())
	conn, err := tls.Dial("tcp", e.gw.Load().Addr(), &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1",
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	// In TLS 1.3 the server judges the client certificate after the client
	// finished its handshake: a refusal shows on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	n, err := conn.Read(make([]byte, 1))
	if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
		return nil // still open: accepted
	}
	if n > 0 {
		return nil // the server already speaks over the session: accepted
	}
	return err
}

func nodeCert(t *testing.T, ca *pki.CA, nodeID string) (tls.Certificate, string) {
	t.Helper()
	key, csr, err := pki.NewKeyAndCSR(nodeID)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, serial, err := ca.SignNodeCSR(csr, nodeID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	return c, serial
}

func TestGatewayAdmission(t *testing.T) {
	e := newEnv(t)
	node := &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeploying, Hostname: "h"}
	cert, serial := nodeCert(t, e.ca, "n1")
	node.CertSerial = serial
	if err := e.st.Create(e.ctx, store.KindNodes, node); err != nil {
		t.Fatal(err)
	}

	if err := dialGateway(t, e, cert); err != nil {
		t.Fatalf("the node's own certificate: %v", err)
	}

	other, err := pki.NewCA("another cluster")
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := nodeCert(t, other, "n1")
	if err := dialGateway(t, e, foreign); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("certificate of another CA: %v, want a refused handshake", err)
	}

	stale, _ := nodeCert(t, e.ca, "n1") // a valid certificate, but not the node's current one
	if err := dialGateway(t, e, stale); err == nil {
		t.Error("stale certificate accepted")
	}
	// A node the store does not know is told it was removed (see
	// TestGatewayRefusals).
	unknown, _ := nodeCert(t, e.ca, "n2")
	if code, ecode, err := helloAs(t, e, unknown); err != nil || code != 403 || ecode != api.CodeNodeRemoved {
		t.Errorf("certificate of an unknown node: %d %q %v", code, ecode, err)
	}

	// A removed node's agent loses its session and cannot come back.
	p := e.startAgent(t.TempDir(), "host-r", e.token, newMemDriver())
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	if err := e.st.Delete(e.ctx, store.KindNodes, id, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "session of the removed node closed", func() error {
		if n := e.gw.Load().Connected(); n != 0 {
			return fmt.Errorf("%d sessions", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // let the agent try again
	if n := e.gw.Load().Connected(); n != 0 {
		t.Fatalf("removed node reconnected: %d sessions", n)
	}
}

// An agent whose stored identity is damaged (ca.crt lost) but that still
// holds its key and certificate joins again as the same node, proving it
// with that certificate, and the old certificate stops working. One that
// lost its certificate is refused and told how to join as a new node.
func TestRejoin(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := e.startAgent(dir, "host-j", e.token, newMemDriver())
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	oldSerial := e.node(id).CertSerial
	oldCert, err := tls.LoadX509KeyPair(dir+"/node.crt", dir+"/node.key")
	if err != nil {
		t.Fatal(err)
	}
	p.stop()
	if err := os.Remove(dir + "/ca.crt"); err != nil {
		t.Fatal(err)
	}
	p = e.startAgent(dir, "host-j", e.token, newMemDriver())
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	if got := waitAgentID(t, p); got != id {
		t.Fatalf("rejoined as %s, want %s", got, id)
	}
	if n := e.node(id); n.CertSerial == oldSerial || n.CertSerial == "" {
		t.Fatalf("cert serial %q after rejoin (was %q)", n.CertSerial, oldSerial)
	}
	if err := dialGateway(t, e, oldCert); err == nil {
		t.Fatal("the replaced certificate still opens a session")
	}

	// The certificate lost: no proof, no rejoin.
	p.stop()
	serial := e.node(id).CertSerial
	for _, f := range []string{"node.crt", "ca.crt"} {
		if err := os.Remove(dir + "/" + f); err != nil {
			t.Fatal(err)
		}
	}
	p = e.startAgent(dir, "host-j", e.token, newMemDriver())
	var runErr error
	select {
	case runErr = <-p.done:
		p.done <- runErr
	case <-time.After(10 * time.Second):
		t.Fatal("an agent without its certificate kept trying to rejoin")
	}
	if runErr == nil || !strings.Contains(runErr.Error(), "403") || !strings.Contains(runErr.Error(), "wharf node rm "+id) {
		t.Fatalf("rejoin without the certificate: %v, want a 403 that says to remove the node and join anew", runErr)
	}
	if n := e.node(id); n.CertSerial != serial {
		t.Fatalf("the refused rejoin changed the node's certificate serial")
	}
}
