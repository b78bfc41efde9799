package acme

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// account is the part of an ACMEConfig that makes an ACME client: a
// change of any of it builds a new one.
type account struct {
	directory string
	email     string
	ca        string
}

func accountOf(cfg api.ACMEConfig) account {
	return account{directory: cfg.Directory, email: cfg.Email, ca: cfg.CA}
}

// validate checks cfg's account fields and returns the HTTP client the
// ACME client talks to the directory with.
func validate(cfg api.ACMEConfig) (*http.Client, error) {
	u, err := url.Parse(cfg.Directory)
	switch {
	case cfg.Directory == "":
		return nil, errors.New("acme: directory: empty; set the ACME server's directory URL (such as https://acme-v02.api.letsencrypt.org/directory)")
	case err != nil:
		return nil, fmt.Errorf("acme: directory %q: not a URL: %w", cfg.Directory, err)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("acme: directory %q: want an https:// URL with a host (ACME servers speak HTTPS only)", cfg.Directory)
	case u.User != nil:
		return nil, fmt.Errorf("acme: directory %q: a URL with a user name or password is not an ACME directory", u.Redacted())
	}
	if cfg.Email != "" {
		a, err := mail.ParseAddress(cfg.Email)
		if err != nil || a.Address != cfg.Email {
			return nil, fmt.Errorf("acme: email %q: want a bare address such as ops@example.com", cfg.Email)
		}
	}
	var pool *x509.CertPool
	if cfg.CA != "" {
		if pool, err = parseCA(cfg.CA); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the directory is reached directly, as every other server the router talks to
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// parseCA reads the PEM certificates of cfg.CA into a pool.
func parseCA(text string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(text)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("acme: ca: holds a PEM %q block; want only CERTIFICATE blocks (the roots the ACME server's HTTPS certificate chains to)", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("acme: ca: certificate %d does not parse: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("acme: ca: no PEM certificate in it; want the PEM roots the ACME server's HTTPS certificate chains to, or nothing for the system's roots")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("acme: ca: text after the last PEM certificate; want PEM certificates only")
	}
	return pool, nil
}

// cachePrefix starts every cache key of one directory's client, so that
// a changed directory (a staging CA swapped for the real one) gets
// certificates of its own instead of serving the old CA's until they are
// due for renewal. Every router node of an organization has the same
// directory, so they share their keys.
func cachePrefix(directory string) string {
	sum := sha256.Sum256([]byte(directory))
	return hex.EncodeToString(sum[:6]) + "_"
}

// hostSet is the host policy: the names the routers ask certificates for,
// and the wildcard route hosts, which ACME cannot serve here.
type hostSet struct {
	exact     map[string]bool
	wildcards []string // "*.example.com" or "*"
}

func newHostSet(hosts []string) *hostSet {
	s := &hostSet{exact: make(map[string]bool, len(hosts))}
	for _, h := range hosts {
		h = normalHost(h)
		switch {
		case h == "":
		case h == "*" || strings.HasPrefix(h, "*."):
			s.wildcards = append(s.wildcards, h)
		default:
			s.exact[h] = true
		}
	}
	slices.Sort(s.wildcards)
	return s
}

// normalHost lowercases a host name and drops a trailing dot and a port.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// drops reports whether next lacks a host of s.
func (s *hostSet) drops(next *hostSet) bool {
	for h := range s.exact {
		if !next.exact[h] {
			return true
		}
	}
	return false
}

// check says why host gets no certificate, or nil when it may.
func (s *hostSet) check(host string) error {
	h := normalHost(host)
	if s.exact[h] {
		return nil
	}
	for _, w := range s.wildcards {
		if w == "*" || strings.HasSuffix(h, w[1:]) {
			return fmt.Errorf("acme: host %q is served by the wildcard route host %q; a wildcard host cannot get a certificate "+
				"by HTTP-01 or TLS-ALPN-01 (only DNS-01, which the router does not do): name the host exactly in a route, "+
				"or give the route a certificate of its own (route option certificate)", h, w)
		}
	}
	return fmt.Errorf("acme: host %q is not the host of an https route without a certificate; the router asks no certificate for it", h)
}
