package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

// Files kept in DataDir.
const (
	fileKey   = "node.key"
	fileCert  = "node.crt"
	fileCA    = "ca.crt"
	fileIdent = "node.json" // written last: its presence means a complete identity
)

// identity is what the agent keeps across restarts.
type identity struct {
	NodeID    string `json:"node_id"`
	Gateway   string `json:"gateway"`
	ServerURL string `json:"server_url,omitempty"`

	cert tls.Certificate
	pool *x509.CertPool
}

// errFatal marks join errors that retrying cannot fix.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

func loadIdentity(dir string) (*identity, error) {
	b, err := os.ReadFile(filepath.Join(dir, fileIdent))
	if err != nil {
		return nil, err
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("read %s: %w", fileIdent, err)
	}
	if id.NodeID == "" || id.Gateway == "" {
		return nil, fmt.Errorf("%s: node_id and gateway are required", filepath.Join(dir, fileIdent))
	}
	id.cert, err = loadKeyPair(dir)
	if err != nil {
		return nil, fmt.Errorf("load node certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, fileCA))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	id.pool = x509.NewCertPool()
	if !id.pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(dir, fileCA))
	}
	return &id, nil
}

// joinWithRetry joins, retrying while the server cannot be reached.
func (a *Agent) joinWithRetry(ctx context.Context) (*identity, error) {
	delay := backoffMin
	for {
		id, err := a.join(ctx)
		if err == nil {
			return id, nil
		}
		var fatal errFatal
		if errors.As(err, &fatal) || ctx.Err() != nil {
			return nil, err
		}
		a.log.Warn("join failed; retrying", "err", err, "in", delay.Round(time.Millisecond))
		if !sleep(ctx, jitter(delay)) {
			return nil, ctx.Err()
		}
		delay = min(delay*2, backoffMax)
	}
}

// join enrolls this host: it fetches the CA, checks it against the digest
// pinned in the token, sends a CSR and keeps what it gets in DataDir.
func (a *Agent) join(ctx context.Context) (*identity, error) {
	tok, err := pki.ParseJoinToken(a.cfg.JoinToken)
	if err != nil {
		return nil, errFatal{fmt.Errorf("join: %w", err)}
	}
	base := strings.TrimSuffix(a.cfg.ServerURL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errFatal{fmt.Errorf("join: server URL %q: want https://host:port", a.cfg.ServerURL)}
	}

	// The CA is fetched without verification, then trusted only if its
	// digest is the one the token pins.
	insecure := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // checked against the token's digest
	}}
	defer insecure.CloseIdleConnections()
	caPEM, err := fetchCA(ctx, insecure, base+"/v1/ca")
	if err != nil {
		return nil, err
	}
	if !pki.VerifyCADigest(caPEM, tok.CADigest) {
		return nil, errFatal{fmt.Errorf("join: the CA certificate served by %s does not match the digest in the join token: "+
			"refusing to trust it (a man in the middle, or a token from another cluster)", base)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errFatal{fmt.Errorf("join: %s/v1/ca served no usable certificate", base)}
	}

	keyPEM, csrPEM, err := pki.NewKeyAndCSR(a.cfg.Hostname)
	if err != nil {
		return nil, errFatal{err}
	}
	req := api.JoinRequest{Token: a.cfg.JoinToken, CSR: string(csrPEM), Hostname: a.cfg.Hostname, Labels: a.cfg.Labels}
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if old, err := readNodeID(a.cfg.DataDir); err == nil && old != "" {
		// Rejoining as the same node takes proof that this host is that
		// node: its certificate as the TLS client certificate (even an
		// expired one). Without it the server refuses and says how to
		// join as a new node.
		req.NodeID = old
		if cert, err := loadKeyPair(a.cfg.DataDir); err == nil && cert.Leaf != nil && cert.Leaf.Subject.CommonName == old {
			tlsCfg.Certificates = []tls.Certificate{cert}
		} else {
			a.log.Warn("rejoining without the node's certificate: the server will refuse", "node", old, "err", err)
		}
	}
	body, _ := json.Marshal(req)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer client.CloseIdleConnections()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/join", bytes.NewReader(body))
	if err != nil {
		return nil, errFatal{err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("join refused by %s: %s", base, errorMessage(resp.Status, rb))
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests { // 429: throttled, try later
			return nil, errFatal{err}
		}
		return nil, err
	}
	var jr api.JoinResponse
	if err := json.Unmarshal(rb, &jr); err != nil {
		return nil, fmt.Errorf("join: bad answer: %w", err)
	}
	if jr.NodeID == "" || jr.Certificate == "" {
		return nil, fmt.Errorf("join: the answer lacks a node ID or certificate")
	}
	cert, err := tls.X509KeyPair([]byte(jr.Certificate), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("join: the certificate does not fit the key: %w", err)
	}
	id := &identity{NodeID: jr.NodeID, Gateway: gatewayAddr(jr.Gateway, u), ServerURL: base, cert: cert, pool: pool}
	if err := saveIdentity(a.cfg.DataDir, id, keyPEM, []byte(jr.Certificate), caPEM); err != nil {
		return nil, errFatal{err}
	}
	a.log.Info("joined the cluster", "node", id.NodeID, "gateway", id.Gateway)
	return id, nil
}

func fetchCA(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errFatal{err}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join: fetch CA: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("join: fetch CA: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("join: fetch CA: %s", errorMessage(resp.Status, b))
	}
	// Accept the PEM itself, or a JSON object carrying it.
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var m map[string]any
		if json.Unmarshal(t, &m) == nil {
			for _, v := range m {
				if s, ok := v.(string); ok && strings.Contains(s, "BEGIN CERTIFICATE") {
					return []byte(s), nil
				}
			}
		}
	}
	return b, nil
}

// errorMessage extracts the message of an api.ErrorBody, or the raw text.
func errorMessage(status string, body []byte) string {
	var eb api.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		return status + ": " + eb.Error.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300]
	}
	return status + ": " + s
}

// gatewayAddr completes the gateway address: a missing or unspecified host
// (the server listens on every address) becomes the API server's host.
func gatewayAddr(gw string, server *url.URL) string {
	host, port, err := net.SplitHostPort(gw)
	if err != nil {
		return gw
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = server.Hostname()
	}
	return net.JoinHostPort(host, port)
}

func readNodeID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, fileIdent))
	if err != nil {
		return "", err
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return "", err
	}
	return id.NodeID, nil
}

func saveIdentity(dir string, id *identity, keyPEM, certPEM, caPEM []byte) error {
	ident, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{fileKey, keyPEM, 0o600},
		{fileCert, certPEM, 0o644},
		{fileCA, caPEM, 0o644},
		{fileIdent, append(ident, '\n'), 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("save node identity: %w", err)
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
