package testcluster

// docker_core_security_test.go: what the Docker endpoint refuses, over
// real TLS connections to a running server: revoked, expired and foreign
// client certificates, a node's certificate, plain HTTP; and a Docker
// client certificate used as a node's at the gateway and the registry.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// certDir is DOCKER_CERT_PATH of env.
func certDir(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "DOCKER_CERT_PATH="); ok {
			return v
		}
	}
	return ""
}

// tlsConfigFrom is the TLS client config of certFile/keyFile, trusting
// caPEM.
func tlsConfigFrom(t *testing.T, caPEM []byte, certFile, keyFile string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// getWith GETs url with cfg and returns the status and body, or the error.
func getWith(cfg *tls.Config, url string) (int, string, error) {
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestDockerEndpointRefusals(t *testing.T) {
	c := Start(t, Options{Docker: true})
	ag := c.AddAgent("alpha", nil, fake.New())
	waitDeployed(t, c, 1)
	ctx := context.Background()
	version := "https://" + c.DockerAddr + "/v1.41/version"

	env, tok := c.DockerEnv(t, "docker-good", api.RoleReadOnly)
	dir := certDir(env)
	caPEM := []byte(tok.CA)
	good := tlsConfigFrom(t, caPEM, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if st, body, err := getWith(good, version); err != nil || st != http.StatusOK {
		t.Fatalf("a current certificate: %d %q %v", st, body, err)
	}

	t.Run("read-only writes, audited", func(t *testing.T) {
		// A changing call is refused for a read-only certificate (403) and
		// lands in the audit trail under the certificate's token's name.
		hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: good}}
		resp, err := hc.Post("https://"+c.DockerAddr+"/v1.41/containers/create?name=docker-core-x", "application/json", strings.NewReader(`{"Image":"busybox"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a read-only certificate's container create: %d", resp.StatusCode)
		}
		acts, err := c.Client.Actions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range acts {
			if a.Who == "docker-good" && a.Method == http.MethodPost && a.Path == "/v1.41/containers/create" && a.Result == "Failed" && a.Status == resp.StatusCode {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit action of the refused call among %+v", acts)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		env, tok := c.DockerEnv(t, "docker-revoked", api.RoleReadOnly)
		cfg := tlsConfigFrom(t, caPEM, filepath.Join(certDir(env), "cert.pem"), filepath.Join(certDir(env), "key.pem"))
		if st, _, err := getWith(cfg, version); err != nil || st != http.StatusOK {
			t.Fatalf("before revocation: %d %v", st, err)
		}
		if err := c.Client.RemoveToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		st, body, err := getWith(cfg, version)
		if err != nil || st != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
			t.Errorf("after `wharf token rm`: %d %q %v", st, body, err)
		}
		if _, err := os.Stat(dockerCLIs[0]); err == nil {
			out, err := runDocker(t, dockerCLIs[0], env, "version")
			if err == nil || !strings.Contains(out, "revoked") {
				t.Errorf("docker version with a revoked certificate: %v\n%s", err, out)
			}
		}
	})

	t.Run("expired", func(t *testing.T) {
		env, tok := c.DockerEnvWith(t, api.CreateTokenRequest{Name: "docker-expired", TTL: "1s"})
		b, _ := pem.Decode([]byte(tok.Certificate))
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(cert.NotAfter) + 1500*time.Millisecond) // let it expire
		cfg := tlsConfigFrom(t, caPEM, filepath.Join(certDir(env), "cert.pem"), filepath.Join(certDir(env), "key.pem"))
		// The handshake lets it by only for the call to be refused with
		// a message that says so (docker prints it).
		st, body, err := getWith(cfg, version)
		if err != nil || st != http.StatusUnauthorized || !strings.Contains(body, "expired") {
			t.Errorf("an expired certificate: %d %q %v", st, body, err)
		}
		if _, err := os.Stat(dockerCLIs[0]); err == nil {
			out, err := runDocker(t, dockerCLIs[0], env, "version")
			if err == nil || !strings.Contains(out, "expired") {
				t.Errorf("docker version with an expired certificate: %v\n%s", err, out)
			}
		}
	})

	t.Run("foreign CA", func(t *testing.T) {
		other, err := pki.NewCA("foreign CA")
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, csrPEM, _ := pki.NewKeyAndCSR("foreign")
		certPEM, _, err := other.SignDockerClientCSR(csrPEM, tok.ID, time.Hour) // even a real token's name
		if err != nil {
			t.Fatal(err)
		}
		fdir := t.TempDir()
		if err := pki.WriteDockerCertDir(fdir, caPEM, certPEM, keyPEM); err != nil {
			t.Fatal(err)
		}
		cfg := tlsConfigFrom(t, caPEM, filepath.Join(fdir, "cert.pem"), filepath.Join(fdir, "key.pem"))
		if st, body, err := getWith(cfg, version); err == nil {
			t.Errorf("a foreign CA's certificate was answered: %d %q", st, body)
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("a foreign CA's certificate: %v", err)
		}
		if _, err := os.Stat(dockerCLIs[0]); err == nil {
			env := []string{"DOCKER_HOST=tcp://" + c.DockerAddr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + fdir}
			out, err := runDocker(t, dockerCLIs[0], env, "version")
			if err == nil || !strings.Contains(out, "certificate") {
				t.Errorf("docker version with a foreign CA's certificate: %v\n%s", err, out)
			}
			t.Logf("docker version with a foreign CA's certificate:\n%s", out)
		}
	})

	t.Run("a node's certificate", func(t *testing.T) {
		cfg := tlsConfigFrom(t, caPEM, filepath.Join(ag.Dir, "node.crt"), filepath.Join(ag.Dir, "node.key"))
		st, body, err := getWith(cfg, version)
		if err != nil || st != http.StatusUnauthorized || !strings.Contains(body, "a node's cannot call the Docker API") {
			t.Errorf("a node's certificate at the Docker endpoint: %d %q %v", st, body, err)
		}
	})

	t.Run("plain HTTP", func(t *testing.T) {
		st, body, err := getWith(nil, "http://"+c.DockerAddr+"/_ping")
		if err == nil && (st == http.StatusOK || strings.Contains(body, "OK")) {
			t.Errorf("plain HTTP was answered: %d %q", st, body)
		}
		t.Logf("plain HTTP: %d %q %v", st, body, err)
	})

	t.Run("a Docker certificate at the gateway", func(t *testing.T) {
		cfg := good.Clone()
		cfg.MinVersion = tls.VersionTLS13
		conn, err := tls.Dial("tcp", c.cfg.AgentAddr, cfg)
		if err != nil {
			return // refused in the handshake: as good
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound, not a measure
		n, err := conn.Read(make([]byte, 64))
		if n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("the gateway did not close a Docker client certificate's session: read %d bytes, %v", n, err)
		}
	})

	t.Run("a Docker certificate at the registry", func(t *testing.T) {
		st, body, err := getWith(good, c.URL+"/v2/")
		if err != nil || st != http.StatusUnauthorized {
			t.Errorf("a Docker client certificate at the registry: %d %q %v", st, body, err)
		}
	})
}
