package testcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/testpebble"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestRouterServesACMECertificate is the whole chain of an https route
// without a certificate: the server's ACME settings, the route table the
// gateway pushes to a router node, the router's ACME manager ordering a
// certificate from pebble (which validates on the router's own ports), the
// certificate served by SNI and chained to pebble's root, and the request
// reaching the service's container.
func TestRouterServesACMECertificate(t *testing.T) {
	httpAddr, tlsAddr := freeAddr(t), freeAddr(t)
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return n
	}
	p := testpebble.Start(t, testpebble.Config{HTTPPort: port(httpAddr), TLSPort: port(tlsAddr)})
	c := Start(t, Options{ACME: &api.ACMEConfig{Directory: p.Directory, CA: p.CA}})
	bin := testserver.Binary(t)
	drv, err := exec.New(filepath.Join(t.TempDir(), "exec"))
	if err != nil {
		t.Fatal(err)
	}
	c.StartAgentWith(t.TempDir(), "edge", map[string]string{api.RouterLabel: "true"}, func(cfg *agent.Config) {
		cfg.Router.HTTPAddr, cfg.Router.HTTPSAddr = httpAddr, tlsAddr
		cfg.StopContainersOnExit = true // its `wharf hello` goes with the test
	}, drv)
	ctx := context.Background()
	spec := api.ServiceSpec{Driver: "exec", Replicas: 1, Command: []string{bin, "hello"},
		Routes: []api.Route{{Protocol: api.RouteHTTPS, Host: "app.wharf.test"}}}
	if _, err := c.Client.CreateService(ctx, "web", spec); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(p.Root)) {
		t.Fatal("pebble's root does not parse")
	}
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "app.wharf.test"}}}
	var body string
	Eventually(t, 90*time.Second, func() error {
		req, err := http.NewRequest(http.MethodGet, "https://"+tlsAddr+"/", nil)
		if err != nil {
			return err
		}
		req.Host = "app.wharf.test"
		resp, err := cl.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Status, b)
		}
		if len(resp.TLS.PeerCertificates) == 0 || resp.TLS.PeerCertificates[0].VerifyHostname("app.wharf.test") != nil {
			return fmt.Errorf("served certificate is not for app.wharf.test")
		}
		body = string(b)
		return nil
	})
	if !strings.Contains(body, "Hello from web-1") {
		t.Errorf("https://app.wharf.test/ answered %q, want web-1's hello", body)
	}
}
