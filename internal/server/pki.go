package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// caDoc is the cluster CA as stored, so that every server sharing the store
// shares one CA. Its key is sealed (package seal); KeyPEM is the plaintext
// key that versions before sealing stored, read only to migrate it.
type caDoc struct {
	api.Meta
	CertPEM   string `json:"cert_pem"`
	KeyPEM    string `json:"key_pem,omitempty"`
	KeySealed string `json:"key_sealed,omitempty"`
}

// caPurpose names the CA key among sealed secrets.
const caPurpose = "cluster/ca"

// loadOrCreateCA reads the cluster CA from the store, or makes it on the
// very first start. Two servers racing to make it agree on the one that was
// written first. A CA key stored in plaintext by an earlier version is
// sealed in place; migrated reports it, so that the caller scrubs the
// store's history of the plaintext. The CA certificate is also written to
// <data-dir>/ca.crt for clients.
func loadOrCreateCA(ctx context.Context, st *store.Store, sealer *seal.Sealer, dataDir string) (ca *pki.CA, migrated bool, err error) {
	var doc caDoc
	err = st.Get(ctx, store.KindCluster, "ca", &doc)
	if errors.Is(err, store.ErrNotFound) {
		err = createCA(ctx, st, sealer, &doc)
	}
	if err == nil && doc.KeyPEM != "" {
		err = sealCAKey(ctx, st, sealer, &doc)
		migrated = err == nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cluster CA: %w", err)
	}
	keyPEM, err := sealer.Open(caPurpose, doc.KeySealed)
	if err != nil {
		return nil, false, fmt.Errorf("cluster CA: %w", err)
	}
	ca, err = pki.ParseCA([]byte(doc.CertPEM), keyPEM)
	if err != nil {
		return nil, false, fmt.Errorf("cluster CA: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "ca.crt"), ca.CertPEM(), 0o644); err != nil {
		return nil, false, err
	}
	return ca, migrated, nil
}

func createCA(ctx context.Context, st *store.Store, sealer *seal.Sealer, doc *caDoc) error {
	ca, err := pki.NewCA("Wharf cluster CA")
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := ca.PEM()
	if err != nil {
		return err
	}
	sealed, err := sealer.Seal(caPurpose, keyPEM)
	if err != nil {
		return err
	}
	*doc = caDoc{Meta: api.Meta{ID: "ca"}, CertPEM: string(certPEM), KeySealed: sealed}
	err = st.Create(ctx, store.KindCluster, doc)
	if errors.Is(err, store.ErrExists) {
		// Another server made it first: use theirs.
		return st.Get(ctx, store.KindCluster, "ca", doc)
	}
	return err
}

// sealCAKey replaces a plaintext CA key with its sealed form. Another
// server doing the same at once makes this one's update conflict; it then
// reads the sealed one.
func sealCAKey(ctx context.Context, st *store.Store, sealer *seal.Sealer, doc *caDoc) error {
	return st.Modify(ctx, store.KindCluster, "ca", doc, func() ([]api.Event, error) {
		if doc.KeyPEM == "" {
			return nil, store.ErrNoChange
		}
		sealed, err := sealer.Seal(caPurpose, []byte(doc.KeyPEM))
		if err != nil {
			return nil, err
		}
		doc.KeySealed, doc.KeyPEM = sealed, ""
		return nil, nil
	})
}

// serverCertificate loads --tls-cert/--tls-key, or the certificate the
// server made for itself, remaking it when it is missing, expiring within 30
// days, from another CA, or lacks one of this host's names.
func serverCertificate(ca *pki.CA, cfg Config) (tls.Certificate, error) {
	if cfg.TLSCert != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return c, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return c, nil
	}
	hosts := serverHosts(cfg.Advertise)
	if h, _, err := net.SplitHostPort(cfg.RegistryHost); err == nil && h != "" {
		// Nodes' engines verify the registry by the name they pull from.
		hosts = append(hosts, h)
	}
	certPath, keyPath := filepath.Join(cfg.DataDir, "server.crt"), filepath.Join(cfg.DataDir, "server.key")
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && certFits(c, ca, hosts) {
		return c, nil
	}
	certPEM, keyPEM, err := ca.IssueServer(hosts, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server certificate: %w", err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func certFits(c tls.Certificate, ca *pki.CA, hosts []string) bool {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || time.Until(leaf.NotAfter) < 30*24*time.Hour {
		return false
	}
	if !bytes.Equal(leaf.RawIssuer, ca.Cert.RawSubject) || leaf.CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// serverHosts lists the names and addresses the server certificate covers.
func serverHosts(advertise string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if hn, err := os.Hostname(); err == nil {
		hosts = append(hosts, hn)
	}
	if advertise != "" {
		hosts = append(hosts, advertise)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}
