package testcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// An address that sent too many wrong API tokens and forged agent
// certificates is refused at the API, but a node on that address (whose
// local user mistyped a token, or a neighbour behind the same NAT) still
// reconnects to the gateway with its real certificate: the throttle must
// not be a way to cut a node off and have its containers moved.
func TestThrottledAddressKeepsItsNodes(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 2 * time.Second})
	dir := filepath.Join(c.DataDir, "n1")
	a := c.StartAgent(dir, "n1", nil, fake.New())
	waitDeployed(t, c, 1)

	// The guesser shares the agent's address, 127.0.0.1.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAPEM) {
		t.Fatal("no CA certificate")
	}
	guesser := clientFrom(pool, "127.0.0.1")
	got, err := hostile.GuessTokens(guesser, c.URL, 15)
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; !last.Refused() {
		t.Fatalf("the 15th wrong token got %d, want 429 with Retry-After", last.Status)
	}
	other, err := pki.NewCA("impostor CA")
	if err != nil {
		t.Fatal(err)
	}
	key, csr, err := pki.NewKeyAndCSR("n-forged")
	if err != nil {
		t.Fatal(err)
	}
	forgedPEM, _, err := other.SignNodeCSR(csr, "n-forged", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tls.X509KeyPair(forgedPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	gw := c.cfg.AgentAddr
	for i := range 15 {
		if handshook, err := hostile.ForgedClientCert(gw, forged); err == nil {
			t.Fatalf("forged certificate %d accepted (handshook %v)", i+1, handshook)
		}
	}

	// The node goes away, then reconnects from the throttled address.
	a.Stop()
	watcher := clientFrom(pool, "127.0.0.5")
	Eventually(t, 30*time.Second, func() error {
		var n api.Node
		if err := getJSON(watcher, c.URL+"/v1/nodes/n1", c.Token, &n); err != nil {
			return err
		}
		if n.State == api.NodeDeployed {
			return errors.New("n1 still Deployed after its agent stopped")
		}
		return nil
	})
	c.StartAgent(dir, "n1", nil, fake.New())
	Eventually(t, 30*time.Second, func() error {
		var n api.Node
		if err := getJSON(watcher, c.URL+"/v1/nodes/n1", c.Token, &n); err != nil {
			return err
		}
		if n.State != api.NodeDeployed {
			return fmt.Errorf("n1 is %s, want Deployed again", n.State)
		}
		return nil
	})
	// And the API still refuses the guesser's address.
	if r, err := hostile.GuessTokens(guesser, c.URL, 1); err != nil || !r[0].Refused() {
		t.Fatalf("the guesser's address after the reconnect: %+v %v, want 429", r, err)
	}
}

// clientFrom is an HTTP client trusting pool whose connections come from
// the loopback address ip.
func clientFrom(pool *x509.CertPool, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

// getJSON decodes the answer to GET url with token into out.
func getJSON(c *http.Client, url, token string, out any) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
