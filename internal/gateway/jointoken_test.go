package gateway_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/store"
)

// An agent given its join token in a file deletes the file once it has
// joined: a joined agent needs only its certificate.
func TestAgentDeletesItsJoinTokenFile(t *testing.T) {
	e := newEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "join-token")
	if err := os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := e.startAgent(dir, "host-f", "", newMemDriver(), func(c *agent.Config) { c.JoinTokenFile = tokenFile })
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	eventually(t, 5*time.Second, "token file deleted", func() error {
		if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still there: %v", tokenFile, err)
		}
		return nil
	})
	// A restart needs no token at all.
	p.stop()
	p = e.startAgent(dir, "host-f", "", newMemDriver(), func(c *agent.Config) { c.JoinTokenFile = tokenFile })
	if got := waitAgentID(t, p); got != id {
		t.Fatalf("restarted as %s, want %s", got, id)
	}
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
}

// An agent away longer than its certificate lives comes back as the same
// node when given a join token: the expired certificate still proves it is
// the node (its serial is the node's current one).
func TestExpiredCertificateRejoinsAsTheSameNode(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := e.startAgent(dir, "host-x", e.token, newMemDriver())
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	p.stop()

	// Replace its certificate with an expired one for the same key, and
	// make that the node's current certificate.
	keyPEM, err := os.ReadFile(filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, serial, err := e.ca.SignNodeCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), id, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node.crt"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	var n api.Node
	if err := e.st.Modify(e.ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		n.CertSerial, n.PrevCertSerial = serial, ""
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past its NotAfter

	p = e.startAgent(dir, "host-x", e.token, newMemDriver())
	if got := waitAgentID(t, p); got != id {
		t.Fatalf("rejoined as %s, want %s", got, id)
	}
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	if s := e.node(id).CertSerial; s == serial || s == "" {
		t.Fatalf("cert serial %q after the rejoin, want a new one", s)
	}
}
