package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/internal/apiserver"
	"github.com/wharfhq/wharf/internal/dockerapi"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/pki"
)

// dockerEndpoint is the Docker Engine API's listener and server.
type dockerEndpoint struct {
	ln  net.Listener
	srv *http.Server
}

// dockerIssuer signs Docker client certificates with the cluster CA and
// tells clients where the endpoint is and what its server certificate
// chains to.
type dockerIssuer struct {
	*pki.CA
	host      string
	anchorPEM []byte
}

// CertPEM is the client's ca.pem: see serverAnchor.
func (i *dockerIssuer) CertPEM() []byte { return i.anchorPEM }

// DockerHost is the endpoint's advertised host:port.
func (i *dockerIssuer) DockerHost() string { return i.host }

// dockerSigner is what issues Docker client certificates when the server
// has a Docker endpoint, else nil (none is issued).
func dockerSigner(cfg Config, ca *pki.CA, cert tls.Certificate, log *slog.Logger) domain.DockerSigner {
	if cfg.DockerAddr == "" {
		return nil
	}
	host := advertiseAddr(cfg.Advertise, cfg.DockerAddr)
	anchor := ca.CertPEM()
	if cfg.TLSCert != "" {
		anchor = serverAnchor(cert)
		if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
			if h, _, err := net.SplitHostPort(host); err == nil && leaf.VerifyHostname(h) != nil {
				log.Warn("the --tls-cert certificate does not name the Docker endpoint's advertised host, so docker clients will refuse it: set --advertise to a name the certificate covers", "docker_host", host)
			}
		}
	}
	return &dockerIssuer{CA: ca, host: host, anchorPEM: anchor}
}

// serverAnchor is what a Docker client must trust for a --tls-cert chain:
// the docker CLI trusts only its ca.pem (not the system's roots), so
// ca.pem holds the root this host's system pool verifies the chain to, or,
// for a private CA, the chain's last certificate (its root when the file
// has it, else the topmost intermediate: Go and the docker CLI accept any
// certificate of ca.pem as an anchor).
func serverAnchor(cert tls.Certificate) []byte {
	certs := make([]*x509.Certificate, 0, len(cert.Certificate))
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			break
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	anchor := certs[len(certs)-1]
	if chains, err := certs[0].Verify(x509.VerifyOptions{Intermediates: inter}); err == nil && len(chains) > 0 {
		anchor = chains[0][len(chains[0])-1]
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: anchor.Raw})
}

// dockerServer listens on cfg.DockerAddr (nil when it is unset). The TLS
// handshake itself requires a client certificate that the cluster CA
// signed (verifyDockerClient); the domain layer then requires a current
// Docker client one (AuthenticateDockerCert). Nothing is served without TLS, not even with
// --insecure.
func dockerServer(cfg Config, dom *domain.Domain, ca *pki.CA, cert tls.Certificate, log *slog.Logger) (*dockerEndpoint, error) {
	if cfg.DockerAddr == "" {
		return nil, nil
	}
	h, err := dockerapi.New(dockerapi.Config{
		Domain: dom, Authenticate: dom.AuthenticateDockerCert,
		Version: cfg.Version, Logger: log.With("component", "docker-api"),
	})
	if err != nil {
		return nil, err
	}
	tlsCfg := pki.ServerTLSConfig(cert)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tlsCfg.ClientCAs = pool
	tlsCfg.ClientAuth = tls.RequireAnyClientCert
	tlsCfg.VerifyConnection = verifyDockerClient(pool)
	ln, err := net.Listen("tcp", cfg.DockerAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for the Docker endpoint on %s: %w", cfg.DockerAddr, err)
	}
	// The API's timeouts: no write timeout, so logs -f, attach, exec and
	// events stream for as long as the client wants; a handler that
	// hijacks its connection clears the read deadline itself.
	srv := apiserver.NewHTTPServer(h.Handler(), apiserver.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelDebug))
	log.Info("Docker endpoint listening", "addr", ln.Addr().String())
	return &dockerEndpoint{ln: tls.NewListener(ln, tlsCfg), srv: srv}, nil
}

// verifyDockerClient is the Docker endpoint's handshake check: a client
// certificate the cluster CA signed for client auth, or the handshake
// fails. One past its validity passes here only (the handshake has proven
// the client holds its key), so that the call is answered with a 401 that
// says it expired and how to get a new one (AuthenticateDockerCert checks
// the chain again, at the current time), instead of a reset connection.
func verifyDockerClient(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("a client certificate is required: run `wharf docker-env`")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		at := time.Now()
		if at.After(leaf.NotAfter) {
			at = leaf.NotAfter
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
}

func (e *dockerEndpoint) serve() error { return e.srv.Serve(e.ln) }

func (e *dockerEndpoint) shutdown(ctx context.Context) { _ = e.srv.Shutdown(ctx) }

func (e *dockerEndpoint) close() { _ = e.ln.Close() }
