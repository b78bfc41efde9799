package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// certsDir is where every Docker Engine on this machine looks for a
// registry's certificates (dockerd has no flag to move it).
const certsDir = "/etc/docker/certs.d"

// TestEngineTrustsRegistryThroughNodeCertificate: on a registry address
// that is not loopback (for which the engine reads certs.d; it treats
// 127.0.0.0/8 as insecure and reads nothing), an engine pulls from the
// built-in registry with no credential at all once the node's agent has
// written the cluster CA and its node certificate into certs.d: TLS is
// verified through the cluster CA, and the registry lets the node in by
// its certificate. Before the agent wrote them, the same pull is refused.
func TestEngineTrustsRegistryThroughNodeCertificate(t *testing.T) {
	dockertest.Require(t)
	if os.Geteuid() != 0 {
		requireOrSkip(t, "the test adds a network interface and writes %s: it needs root", certsDir)
	}
	// The server's API and registry on the test's own address.
	addr := net.JoinHostPort(testHostAddress(t), strconv.Itoa(testserver.FreePort(t)))
	s := testserver.New(t, testserver.Options{Args: []string{"--registry-host", addr}})
	s.Addr, s.URL = addr, "https://"+addr
	dir := filepath.Join(certsDir, s.Addr)
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s exists already", dir)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s.Start()

	// An image in the organization's repository, pushed with the admin
	// token and the cluster CA (no engine involved).
	ref := s.Addr + "/default/certs:v1"
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA())
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if err := remote.Write(r, img, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "admin", Password: s.Token()})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}

	host := dockertest.StartEngine(t)
	eng, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	pull := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := eng.ImagePull(ctx, ref, client.ImagePullOptions{})
		if err != nil {
			return err
		}
		defer res.Close()
		return res.Wait(ctx)
	}
	if err := pull(); err == nil {
		t.Fatal("the engine pulled before it was given the cluster CA and a node certificate")
	}

	e := newEnv(t)
	e.extra = []string{"WHARF_ADDR=" + s.URL, "WHARF_CACERT=" + filepath.Join(s.DataDir, "ca.crt"), "WHARF_TOKEN=" + s.Token()}
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	e.start("node-1", "agent", "--server", s.URL, "--token", join, "--name", "node-1",
		"--data-dir", filepath.Join(e.dir, "node-1"), "--docker-host", host, "--heartbeat", "1s")
	eventually(t, time.Minute, "the agent writes the engine's certificates", func() error {
		for _, f := range []string{"ca.crt", "client.cert", "client.key"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return err
			}
		}
		return nil
	})
	if err := pull(); err != nil {
		t.Fatalf("the engine does not pull %s with the node certificate: %v", ref, err)
	}
}

// testHostAddress gives this machine an address of the test's own, on a
// bridge of its own, removed when the test ends: a private address that is
// not loopback, as a server on a network has.
func testHostAddress(t *testing.T) string {
	t.Helper()
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	dev := fmt.Sprintf("whr%x", b)
	ip := fmt.Sprintf("10.240.%d.%d", b[0], 1+b[1]%250)
	for _, args := range [][]string{{"link", "add", dev, "type", "bridge"}, {"addr", "add", ip + "/32", "dev", dev}, {"link", "set", dev, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "link", "del", dev).Run()
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", dev).Run() })
	return ip
}
