package router

// Certificates for the HTTPS listener: the table's own (PEM secrets that
// TLS routes name), chosen by SNI against the routes' hosts, and ACME's
// through the CertManager for the hosts it is given.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// certStore is one table's certificates by host.
type certStore struct {
	exact     map[string]*tls.Certificate
	wildcards []hostCert // longest suffix first
	any       *tls.Certificate
	all       []*tls.Certificate // every certificate that parsed, in table order
	acme      map[string]bool    // hosts whose certificate ACME gets
}

type hostCert struct {
	suffix string
	cert   *tls.Certificate
}

// parsePEM reads a secret's certificate chain and key, both in one PEM.
func parsePEM(pem string) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair([]byte(pem), []byte(pem))
	if err != nil {
		return nil, err
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
			c.Leaf = leaf
		}
	}
	return &c, nil
}

// newCertStore makes the certificates of a table; a secret that does not
// parse is logged and left out, and its routes get no certificate.
func newCertStore(t *api.RouteTable, log *slog.Logger) *certStore {
	bySecret := map[string]*tls.Certificate{}
	var all []*tls.Certificate
	for _, rc := range t.Certificates {
		c, err := parsePEM(rc.PEM)
		if err != nil {
			log.Warn("router: certificate secret skipped: its PEM is not a certificate chain and matching private key; update the secret", "secret", rc.Secret, "err", err)
			continue
		}
		bySecret[rc.Secret] = c
		all = append(all, c)
	}
	s := &certStore{exact: map[string]*tls.Certificate{}, all: all, acme: map[string]bool{}}
	if t.ACME != nil {
		for _, h := range t.ACME.Hosts {
			s.acme[normalizeHost(h)] = true
		}
	}
	for _, rt := range t.HTTP {
		if !rt.TLS || rt.Certificate == "" {
			continue
		}
		c := bySecret[rt.Certificate]
		if c == nil {
			continue
		}
		switch p := parseHostPattern(rt.Host); p.kind {
		case hostExact:
			if s.exact[p.value] == nil {
				s.exact[p.value] = c
			}
		case hostWildcard:
			if !slices.ContainsFunc(s.wildcards, func(h hostCert) bool { return h.suffix == p.value }) {
				s.wildcards = append(s.wildcards, hostCert{p.value, c})
			}
		default:
			if s.any == nil {
				s.any = c
			}
		}
	}
	slices.SortStableFunc(s.wildcards, func(a, b hostCert) int { return len(b.suffix) - len(a.suffix) })
	return s
}

// lookup finds the table's certificate for a server name: the one of the
// route with that exact host, then wildcard, then the "*" route's, and
// failing those any certificate valid for the name (so that a request for
// a host without a TLS route gets its 404 over HTTPS); nil when none.
func (s *certStore) lookup(name string) *tls.Certificate {
	if c := s.exact[name]; c != nil {
		return c
	}
	for _, w := range s.wildcards {
		if len(name) > len(w.suffix) && strings.HasSuffix(name, w.suffix) {
			return w.cert
		}
	}
	if s.any != nil {
		return s.any
	}
	for _, c := range s.all {
		if name != "" && c.Leaf != nil && c.Leaf.VerifyHostname(name) == nil {
			return c
		}
	}
	return nil
}

// getCertificate is the HTTPS listener's tls.Config.GetCertificate.
func (r *Router) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalizeHost(hello.ServerName)
	s := r.table.Load().certs
	cm := r.certManager()
	if cm != nil && (slices.Contains(hello.SupportedProtos, "acme-tls/1") || s != nil && s.acme[name]) {
		return cm.GetCertificate(hello)
	}
	if s != nil {
		if c := s.lookup(name); c != nil {
			return c, nil
		}
	}
	if name == "" {
		return nil, errors.New("router: the client sent no server name (SNI) and no route serves any host over HTTPS")
	}
	return nil, fmt.Errorf("router: no certificate for %q: no https route of that host names a certificate that parsed, and ACME does not cover it", name)
}

func (r *Router) certManager() CertManager {
	if p := r.acme.Load(); p != nil {
		return p.cm
	}
	return nil
}

// acmeState is the current CertManager and its HTTP-01 handler in front of
// the router's plain HTTP handler.
type acmeState struct {
	cm   CertManager
	http http.Handler
}

// applyACME makes, updates or drops the CertManager for a table's ACME
// configuration. Called with r.mu held.
func (r *Router) applyACME(cfg *api.ACMEConfig) error {
	cur := r.acme.Load()
	switch {
	case cfg == nil:
		r.acme.Store(nil)
		return nil
	case r.cfg.NewCertManager == nil:
		if !r.acmeOffLogged {
			r.acmeOffLogged = true
			r.log.Warn("router: the route table has an ACME configuration but this router was made without NewCertManager; ACME hosts get no certificate")
		}
		return nil
	case cur != nil:
		if err := cur.cm.Update(*cfg); err != nil {
			return fmt.Errorf("router: update ACME (directory %s): %w", cfg.Directory, err)
		}
		return nil
	}
	cm, err := r.cfg.NewCertManager(*cfg)
	if err != nil {
		return fmt.Errorf("router: start ACME (directory %s): %w; check the server's ACME settings", cfg.Directory, err)
	}
	if cm == nil {
		return fmt.Errorf("router: NewCertManager returned no manager for directory %s", cfg.Directory)
	}
	r.acme.Store(&acmeState{cm: cm, http: cm.HTTPHandler(r.handler(false))})
	return nil
}
