// Package acme gets the router's certificates for https routes that name
// none, from an ACME server (RFC 8555: Let's Encrypt, or a private one),
// with golang.org/x/crypto/acme/autocert.
//
// A Manager answers both challenges a router can: TLS-ALPN-01 in
// GetCertificate (on the HTTPS port; the router's tls.Config must list
// ALPNProto among its NextProtos) and HTTP-01 in HTTPHandler (on the HTTP
// port). Everything it obtains, its account key, its certificates and
// the challenges' tokens, goes to the cache it is given; the agents give
// it one kept by the server for the whole organization, so a certificate
// is obtained once for all router nodes, and whichever node the ACME
// server's validation reaches answers the challenge another node started.
//
// It asks only for the hosts the route table's ACMEConfig lists, each by
// its exact name: a wildcard route host cannot get a certificate by these
// challenges, and a TLS handshake for a name outside the list is refused
// without an order. The ACME server's terms of service are accepted on
// the operator's behalf: configuring the directory is agreeing to them.
package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xacme "golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/wharfhq/wharf/api"
)

// ALPNProto is the TLS-ALPN-01 challenge's protocol: the router's HTTPS
// listener must offer it (tls.Config.NextProtos) for the challenge to
// reach GetCertificate.
const ALPNProto = xacme.ALPNProto

// challengePrefix starts the path of every HTTP-01 challenge request.
const challengePrefix = "/.well-known/acme-challenge/"

// logEvery bounds how often one host's unchanged failure is logged (a
// failed order is retried on every TLS handshake after a minute).
const logEvery = 10 * time.Minute

// maxLogged bounds the hosts whose last failure is remembered.
const maxLogged = 4096

// Manager obtains, caches and serves ACME certificates for a router. It
// is safe for concurrent use.
type Manager struct {
	cache autocert.Cache
	log   *slog.Logger
	hosts atomic.Pointer[hostSet]
	cur   atomic.Pointer[client]

	mu     sync.Mutex // serializes Update and Close
	acct   account
	closed bool
	http01 atomic.Bool // HTTPHandler was called: offer HTTP-01 too

	logMu  sync.Mutex
	logged map[string]loggedErr // host -> its last logged failure
}

// client is one autocert.Manager: the ACME client of one account
// (directory, email, CA).
type client struct {
	am      *autocert.Manager
	retired *atomic.Bool
	http    http.Handler // set when HTTP-01 is on
}

type loggedErr struct {
	msg string
	at  time.Time
}

// New validates cfg (the directory must be an https URL, the email a
// bare address, the CA, when set, PEM certificates) and returns a
// Manager that keeps what it obtains in cache, shared with the other
// router nodes.
func New(cfg api.ACMEConfig, cache autocert.Cache, log *slog.Logger) (*Manager, error) {
	if cache == nil {
		return nil, errors.New("acme: no cache: the router needs the organization's shared cache to keep its certificates")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cache: cache, log: log, logged: map[string]loggedErr{}}
	c, err := m.newClient(cfg)
	if err != nil {
		return nil, err
	}
	m.hosts.Store(newHostSet(cfg.Hosts))
	m.acct = accountOf(cfg)
	m.cur.Store(c)
	return m, nil
}

// Update takes a new configuration: its hosts from now on, and a new ACME
// client when its directory, email or CA changed, or when it drops a
// host (autocert renews every certificate it served until its client is
// replaced). An invalid cfg changes nothing.
func (m *Manager) Update(cfg api.ACMEConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	hosts := newHostSet(cfg.Hosts)
	changed := accountOf(cfg) != m.acct
	if !changed && !m.hosts.Load().drops(hosts) {
		m.hosts.Store(hosts)
		return nil
	}
	c, err := m.newClient(cfg)
	if err != nil {
		return err
	}
	m.hosts.Store(hosts)
	m.acct = accountOf(cfg)
	old := m.cur.Swap(c)
	old.retired.Store(true)
	if changed {
		m.log.Info("ACME account changed (directory, email or CA): a new ACME client", "directory", cfg.Directory)
	} else {
		m.log.Debug("ACME hosts dropped: their certificates are no longer served nor renewed")
	}
	return nil
}

// errClosed is Update after Close.
var errClosed = errors.New("acme: the manager is closed (its router stopped); make a new one")

// Close stops the manager for good (the router stops serving): its
// renewals and handshakes fail from now on without reaching the ACME
// server or the cache.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.cur.Load().retired.Store(true)
}

// newClient validates cfg and builds its autocert.Manager.
func (m *Manager) newClient(cfg api.ACMEConfig) (*client, error) {
	hc, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	retired := new(atomic.Bool)
	hc.Transport = &retirableTransport{next: hc.Transport, retired: retired}
	am := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      &genCache{base: m.cache, prefix: cachePrefix(cfg.Directory), retired: retired, log: m.log},
		HostPolicy: m.policy,
		Email:      cfg.Email,
		Client:     &xacme.Client{DirectoryURL: cfg.Directory, HTTPClient: hc, UserAgent: "wharf-router"},
	}
	c := &client{am: am, retired: retired}
	if m.http01.Load() {
		c.http = am.HTTPHandler(nil)
	}
	return c, nil
}

// policy is the autocert host policy: the hosts of the latest
// configuration, by exact name.
func (m *Manager) policy(_ context.Context, host string) error {
	return m.hosts.Load().check(host)
}

// GetCertificate is the router's tls.Config.GetCertificate for the hosts
// ACME serves: the cached certificate, or a new one (the handshake waits
// for the order), or the TLS-ALPN-01 challenge's certificate when the
// ACME server validates. A host outside the configuration is refused.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := m.cur.Load().am.GetCertificate(hello)
	if err != nil {
		m.logFailure(hello, err)
	}
	return cert, err
}

// HTTPHandler answers HTTP-01 challenges (any router node's: the tokens
// are in the shared cache) and sends every other request to fallback (a
// 404 when nil). Calling it turns HTTP-01 on: orders then try it when
// TLS-ALPN-01 fails.
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	m.mu.Lock()
	if !m.http01.Swap(true) {
		c := m.cur.Load()
		c.http = c.am.HTTPHandler(nil)
	}
	m.mu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, challengePrefix) {
			fallback.ServeHTTP(w, r)
			return
		}
		m.mu.Lock()
		h := m.cur.Load().http
		m.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// logFailure logs a failed handshake's reason: a refused host at debug
// level (anyone may ask for any name), anything else, such as a failed
// order, as a warning once per reason and logEvery.
func (m *Manager) logFailure(hello *tls.ClientHelloInfo, err error) {
	host := normalHost(hello.ServerName)
	if m.hosts.Load().check(host) != nil || host == "" {
		m.log.Debug("no ACME certificate for this name", "host", host, "err", err)
		return
	}
	now := time.Now()
	m.logMu.Lock()
	last, ok := m.logged[host]
	fresh := !ok || last.msg != err.Error() || now.Sub(last.at) >= logEvery
	if fresh {
		if len(m.logged) >= maxLogged { // hosts of older configurations
			clear(m.logged)
		}
		m.logged[host] = loggedErr{msg: err.Error(), at: now}
	}
	m.logMu.Unlock()
	if fresh {
		m.log.Warn("cannot get an ACME certificate; TLS handshakes for the host fail until one is obtained", "host", host, "err", err)
	}
}
