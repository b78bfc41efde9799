package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

// fileKeyNext holds a renewed key until its certificate is in place: a
// crash between the two writes leaves node.crt matching node.key.next,
// which loadIdentity then completes.
const fileKeyNext = "node.key.next"

// Renewal happens at a random point between these shares of the
// certificate's life, as in SwarmKit, so that nodes joined together do not
// all renew at once.
const (
	renewFrom = 0.5
	renewTo   = 0.8
)

// renewDue is when the certificate should be renewed; the random point is
// drawn once per certificate.
func (a *Agent) renewDue(leaf *x509.Certificate) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	serial := leaf.SerialNumber.String()
	if a.renewSerial != serial {
		life := leaf.NotAfter.Sub(leaf.NotBefore)
		share := renewFrom + (renewTo-renewFrom)*rand.Float64()
		a.renewSerial, a.renewAt = serial, leaf.NotBefore.Add(time.Duration(float64(life)*share))
	}
	return a.renewAt
}

// renewLoop renews the node certificate over s when it is due, until ctx
// ends; a failed renewal is retried sooner the closer the expiry.
func (a *Agent) renewLoop(ctx context.Context, s *agentSession) {
	for {
		leaf := a.identity().cert.Leaf
		if leaf == nil {
			return
		}
		if !sleep(ctx, time.Until(a.renewDue(leaf))) {
			return
		}
		if err := a.renew(ctx, s); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry := min(30*time.Second, max(time.Second, time.Until(leaf.NotAfter)/10))
			a.log.Warn("certificate renewal failed; retrying", "err", err, "in", retry.Round(time.Millisecond), "expires", leaf.NotAfter)
			if !sleep(ctx, retry) {
				return
			}
		}
	}
}

// renew asks the gateway to sign a new key's CSR, keeps the new key and
// certificate in DataDir and uses them for the next connection; the live
// session goes on.
func (a *Agent) renew(ctx context.Context, s *agentSession) error {
	id := a.identity()
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(id.NodeID)
	if err != nil {
		return err
	}
	var resp api.RenewResponse
	if err := s.call(ctx, "/agent/v1/renew", api.RenewRequest{CSR: string(csrPEM)}, &resp, 30*time.Second); err != nil {
		return err
	}
	cert, err := tls.X509KeyPair([]byte(resp.Certificate), keyPEM)
	if err != nil {
		return fmt.Errorf("the renewed certificate does not fit the new key: %w", err)
	}
	if cert.Leaf == nil || cert.Leaf.Subject.CommonName != id.NodeID {
		return errors.New("the renewed certificate is not for this node")
	}
	next := *id
	next.cert = cert
	a.mu.Lock()
	a.ident = &next
	a.mu.Unlock()
	// The server already holds the new serial: the new certificate is the
	// only one that opens a session now, so it is used even if saving fails.
	if err := saveCert(a.cfg.DataDir, keyPEM, []byte(resp.Certificate)); err != nil {
		a.log.Error("renewed certificate not saved: the agent cannot reconnect after a restart; delete the data dir and join again if so", "err", err)
		return nil
	}
	a.log.Info("node certificate renewed", "expires", cert.Leaf.NotAfter.UTC(), "serial", cert.Leaf.SerialNumber.String())
	a.retrustRegistry()
	return nil
}

// saveCert replaces node.key and node.crt so that a crash at any point
// leaves a usable pair (see fileKeyNext).
func saveCert(dir string, keyPEM, certPEM []byte) error {
	if err := writeFileAtomic(filepath.Join(dir, fileKeyNext), keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, fileCert), certPEM, 0o644); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, fileKeyNext), filepath.Join(dir, fileKey))
}

// loadKeyPair loads node.crt with node.key, or with node.key.next when a
// renewal was cut short between its writes (and then completes it).
func loadKeyPair(dir string) (tls.Certificate, error) {
	certFile, keyFile, nextFile := filepath.Join(dir, fileCert), filepath.Join(dir, fileKey), filepath.Join(dir, fileKeyNext)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil {
		return cert, nil
	}
	if c, nerr := tls.LoadX509KeyPair(certFile, nextFile); nerr == nil {
		if rerr := os.Rename(nextFile, keyFile); rerr != nil {
			return tls.Certificate{}, fmt.Errorf("complete an interrupted certificate renewal: %w", rerr)
		}
		return c, nil
	}
	return tls.Certificate{}, err
}
