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
// HTTP: plain requests take the fast path (fastpath.go): net/http parses
// both legs, but the backend exchange runs on the handler's goroutine over
// the router's own keep-alive connections (connpool.go). Upgrades, CONNECT
// and Expect: 100-continue go through net/http/httputil.ReverseProxy. Either
// way the router picks the route and the order in which to try its
// backends, and retries on another backend when a connection cannot be made
// (nothing of the request was sent). TCP routes copy bytes both ways with half-close.
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
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/promtext"
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
	// Metrics, when set, gets the router's metrics.
	Metrics *promtext.Registry
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
	// Close stops its renewals: the router dropped it.
	Close()
}

// Router serves route tables. Make one with New.
type Router struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	access  *accessLog
	proxy   *httputil.ReverseProxy
	checker *checker
	conns   connSet       // TCP and upgraded connections, for Close
	grace   time.Duration // shutdownGrace; shorter in tests

	table atomic.Pointer[compiled]
	acme  atomic.Pointer[acmeState]
	addrs atomic.Pointer[boundAddrs]

	mu            sync.Mutex // serializes Apply and Close; guards what follows
	closed        bool
	httpL, httpsL *httpListener
	tcpL          map[int]*tcpListener
	backends      map[string]*backend // every backend address of the table
	labels        map[string]bool     // the table's route labels (metrics)
	acmeOffLogged bool
}

// boundAddrs are the listeners' addresses, read without the lock.
type boundAddrs struct {
	http, https net.Addr
	tcp         map[int]net.Addr
}

// shutdownGrace is how long requests and connections in flight get to
// finish when a listener is closed for good.
const shutdownGrace = 5 * time.Second

// New makes a router that serves nothing until the first Apply.
func New(cfg Config) (*Router, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	r := &Router{
		cfg:      cfg,
		log:      cfg.Log,
		metrics:  m,
		tcpL:     map[int]*tcpListener{},
		backends: map[string]*backend{},
		labels:   map[string]bool{},
		grace:    shutdownGrace,
	}
	if cfg.AccessLog != nil {
		r.access = &accessLog{w: cfg.AccessLog}
	}
	r.proxy = r.newReverseProxy()
	r.checker = newChecker(func(addr string, err error) {
		r.log.Info("router: backend failed its health check; it gets no new requests until it passes", "backend", addr, "err", err)
	})
	r.table.Store(&compiled{tcp: map[int]*tcpRoute{}, certs: &certStore{}})
	r.addrs.Store(&boundAddrs{})
	return r, nil
}

// Apply swaps in t atomically and opens or closes listeners to match it:
// listeners that stay are not touched, so no connection is dropped. An
// error (a port in use, ACME failing to start) is returned, but the rest
// of the table applies; the next Apply tries again.
func (r *Router) Apply(t *api.RouteTable) error {
	if t == nil {
		return errors.New("router: Apply of a nil route table")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("router: Apply after Close")
	}
	var errs []error
	c, backends, checks, cerrs := r.compile(t)
	errs = append(errs, cerrs...)
	if err := r.applyACME(t.ACME); err != nil {
		errs = append(errs, err)
	}
	r.table.Store(c)
	r.checker.sync(checks)
	for addr, b := range r.backends {
		if backends[addr] == nil {
			b.removed.Store(true)
			b.closeIdle()
		}
	}
	r.backends = backends
	r.forgetLabels(c)
	errs = append(errs, r.syncListeners(c)...)
	err := errors.Join(errs...)
	r.log.Debug("router: table applied", "revision", c.rev, "router", c.router,
		"http_routes", len(t.HTTP), "tcp_routes", len(t.TCP), "backends", len(backends), "err", err)
	return err
}

// compile makes the table's immutable form, reusing the state of backend
// addresses that earlier tables had.
func (r *Router) compile(t *api.RouteTable) (*compiled, map[string]*backend, map[checkKey]*checkState, []error) {
	var errs []error
	backends := map[string]*backend{}
	checks := map[checkKey]*checkState{}
	newPoolFor := func(opts api.RouteOptions, list []api.Backend, label string) *pool {
		var members []*member
		for _, be := range list {
			if _, _, err := net.SplitHostPort(be.Address); err != nil {
				r.log.Warn("router: backend skipped: its address is not host:port", "route", label, "container", be.Container, "address", be.Address)
				continue
			}
			b := backends[be.Address]
			if b == nil {
				if b = r.backends[be.Address]; b == nil {
					b = newBackend(be.Address)
				}
				backends[be.Address] = b
			}
			m := &member{Backend: be, b: b}
			if opts.HTTPCheck != "" {
				m.check = r.checker.get(checks, be.Address, opts.HTTPCheck)
			}
			members = append(members, m)
		}
		return newPool(opts, members)
	}
	c := &compiled{rev: t.Revision, router: t.Router, tcp: map[int]*tcpRoute{}, certs: newCertStore(t, r.log)}
	var plain, secure []*httpRoute
	for _, hr := range t.HTTP {
		label := httpLabel(hr)
		rt := &httpRoute{HTTPRoute: hr, host: parseHostPattern(hr.Host), path: normalizePath(hr.Path), label: label}
		rt.pool = newPoolFor(hr.RouteOptions, hr.Backends, label)
		rt.m = r.metrics.route(label, false)
		if !hr.TLS {
			plain = append(plain, rt)
			continue
		}
		secure = append(secure, rt)
		if hr.ForceSSL {
			redirect := *rt
			redirect.redirect = true
			plain = append(plain, &redirect)
		}
	}
	c.plain, c.secure = newHostTable(plain), newHostTable(secure)
	for _, tr := range t.TCP {
		label := tcpLabel(tr)
		if tr.Listen <= 0 || tr.Listen > 65535 {
			errs = append(errs, fmt.Errorf("router: tcp route %s skipped: listen port %d is not in 1-65535", label, tr.Listen))
			continue
		}
		if prev := c.tcp[tr.Listen]; prev != nil {
			errs = append(errs, fmt.Errorf("router: tcp route %s skipped: port %d is already %s's", label, tr.Listen, prev.Name))
			continue
		}
		rt := &tcpRoute{TCPRoute: tr, label: label}
		rt.pool = newPoolFor(tr.RouteOptions, tr.Backends, label)
		rt.m = r.metrics.route(label, true)
		c.tcp[tr.Listen] = rt
	}
	return c, backends, checks, errs
}

// forgetLabels drops the metric series of routes the new table no longer
// has.
func (r *Router) forgetLabels(c *compiled) {
	if r.metrics == nil {
		return
	}
	now := map[string]bool{}
	for _, ht := range []*hostTable{&c.plain, &c.secure} {
		for _, list := range ht.exact {
			for _, rt := range list {
				now[rt.label] = true
			}
		}
		for _, rt := range append(append([]*httpRoute(nil), ht.wildcards...), ht.any...) {
			now[rt.label] = true
		}
	}
	for _, rt := range c.tcp {
		now[rt.label] = true
	}
	for l := range r.labels {
		if !now[l] {
			r.metrics.forget(l)
		}
	}
	r.labels = now
}

// HTTPAddr is the HTTP listener's bound address, nil when not listening.
func (r *Router) HTTPAddr() net.Addr { return r.addrs.Load().http }

// HTTPSAddr is the HTTPS listener's bound address, nil when not listening.
func (r *Router) HTTPSAddr() net.Addr { return r.addrs.Load().https }

// TCPAddr is the bound address of tcp route port listen, nil when not
// listening.
func (r *Router) TCPAddr(listen int) net.Addr { return r.addrs.Load().tcp[listen] }

// Close stops accepting and gives requests and connections in flight
// shutdownGrace to finish before it closes them.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var servers []*httpListener
	for _, l := range []*httpListener{r.httpL, r.httpsL} {
		if l != nil {
			servers = append(servers, l)
		}
	}
	r.httpL, r.httpsL = nil, nil
	for port, tl := range r.tcpL {
		_ = tl.ln.Close()
		<-tl.done
		delete(r.tcpL, port)
	}
	r.addrs.Store(&boundAddrs{})
	if old := r.acme.Swap(nil); old != nil {
		old.cm.Close()
	}
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), r.grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range servers {
		wg.Go(func() { l.shutdown(ctx) })
	}
	wg.Go(func() { r.conns.wait(ctx) })
	wg.Wait()
	r.checker.close()
	r.mu.Lock()
	for _, b := range r.backends {
		b.removed.Store(true)
		b.closeIdle()
	}
	r.mu.Unlock()
	return nil
}
