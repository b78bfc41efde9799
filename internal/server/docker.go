package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"

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

// dockerSigner is the CA that signs Docker client certificates: the
// cluster CA when the server has a Docker endpoint, else none.
func dockerSigner(cfg Config, ca *pki.CA) domain.DockerSigner {
	if cfg.DockerAddr == "" {
		return nil
	}
	return ca
}

// dockerServer listens on cfg.DockerAddr (nil when it is unset). The TLS
// handshake itself requires a client certificate that the cluster CA
// signed; the domain layer then requires a current Docker client one
// (AuthenticateDockerCert). Nothing is served without TLS, not even with
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
	tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	ln, err := net.Listen("tcp", cfg.DockerAddr)
	if err != nil {
		return nil, fmt.Errorf("Docker endpoint listen on %s: %w", cfg.DockerAddr, err)
	}
	// The API's timeouts: no write timeout, so logs -f, attach, exec and
	// events stream for as long as the client wants; a handler that
	// hijacks its connection clears the read deadline itself.
	srv := apiserver.NewHTTPServer(h.Handler(), apiserver.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelDebug))
	log.Info("Docker endpoint listening", "addr", ln.Addr().String())
	return &dockerEndpoint{ln: tls.NewListener(ln, tlsCfg), srv: srv}, nil
}

func (e *dockerEndpoint) serve() error { return e.srv.Serve(e.ln) }

func (e *dockerEndpoint) shutdown(ctx context.Context) { _ = e.srv.Shutdown(ctx) }

func (e *dockerEndpoint) close() { _ = e.ln.Close() }
