package router

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// served is the certificate names the HTTPS listener shows for a server name.
func served(t *testing.T, r *Router, ca *testCA, name string, protos ...string) ([]string, error) {
	t.Helper()
	c, err := tls.Dial("tcp", r.HTTPSAddr().String(), &tls.Config{ServerName: name, RootCAs: ca.pool, NextProtos: protos})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].DNSNames, nil
}

func TestCertificateBySNI(t *testing.T) {
	ca := newTestCA(t)
	b := newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{})
	exact := route("exact", "app.example.com", "/", b)
	exact.TLS, exact.Certificate = true, "exact"
	wild := route("wild", "*.example.com", "/", b)
	wild.TLS, wild.Certificate = true, "wild"
	broken := route("broken", "broken.example.org", "/", b)
	broken.TLS, broken.Certificate = true, "broken"
	tbl := table(wild, exact, broken)
	tbl.Certificates = []api.RouteCertificate{
		{Secret: "exact", PEM: ca.issue(t, "app.example.com")},
		{Secret: "wild", PEM: ca.issue(t, "*.example.com")},
		{Secret: "broken", PEM: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
	}
	mustApply(t, r, tbl)
	for name, want := range map[string]string{
		"app.example.com":   "app.example.com",
		"APP.example.com":   "app.example.com",
		"other.example.com": "*.example.com",
	} {
		names, err := served(t, r, ca, name)
		if err != nil || len(names) != 1 || names[0] != want {
			t.Errorf("SNI %s: certificate for %v (%v), want %s", name, names, err, want)
		}
	}
	if _, err := served(t, r, ca, "broken.example.org"); err == nil {
		t.Error("a host whose certificate did not parse got one")
	}
	if status, body, _ := do(t, httpsClient(r, ca, false), "GET", "https://app.example.com/", "", nil); status != 200 || body != "b" {
		t.Errorf("request over TLS: %d %q", status, body)
	}
}

// fakeACME stands in for package router/acme: it has a certificate for
// its hosts and answers HTTP-01 challenges.
type fakeACME struct {
	cert    *tls.Certificate
	mu      sync.Mutex
	cfg     api.ACMEConfig
	updates int
	hellos  []string
}

func (f *fakeACME) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	f.hellos = append(f.hellos, h.ServerName+" "+strings.Join(h.SupportedProtos, ","))
	f.mu.Unlock()
	return f.cert, nil
}

func (f *fakeACME) HTTPHandler(fallback http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/.well-known/acme-challenge/") {
			_, _ = io.WriteString(w, "challenge answer")
			return
		}
		fallback.ServeHTTP(w, req)
	})
}

func (f *fakeACME) Update(cfg api.ACMEConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.updates++
	return nil
}

func TestACMEThroughCertManager(t *testing.T) {
	ca := newTestCA(t)
	cert, err := parsePEM(ca.issue(t, "auto.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeACME{cert: cert}
	var made int
	b := newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{NewCertManager: func(cfg api.ACMEConfig) (CertManager, error) {
		made++
		fake.cfg = cfg
		return fake, nil
	}})
	auto := route("auto", "auto.example.com", "/", b)
	auto.TLS = true
	tbl := table(auto, route("plain", "*", "/", b))
	tbl.ACME = &api.ACMEConfig{Directory: "https://acme.invalid/dir", Hosts: []string{"auto.example.com"}}
	mustApply(t, r, tbl)

	if names, err := served(t, r, ca, "auto.example.com"); err != nil || names[0] != "auto.example.com" {
		t.Errorf("ACME host: %v %v", names, err)
	}
	if _, err := served(t, r, ca, "tls-alpn.example.com", "acme-tls/1"); err != nil && !strings.Contains(err.Error(), "certificate") {
		t.Errorf("acme-tls/1 handshake: %v", err)
	}
	fake.mu.Lock()
	hellos := strings.Join(fake.hellos, "|")
	fake.mu.Unlock()
	if !strings.Contains(hellos, "tls-alpn.example.com acme-tls/1") {
		t.Errorf("the acme-tls/1 hello did not reach the manager: %q", hellos)
	}
	if status, body, _ := get(t, nil, r, "auto.example.com", "/.well-known/acme-challenge/tok"); status != 200 || body != "challenge answer" {
		t.Errorf("HTTP-01 challenge: %d %q", status, body)
	}
	if status, body, _ := get(t, nil, r, "auto.example.com", "/other"); status != 200 || body != "b" {
		t.Errorf("plain request past the ACME handler: %d %q", status, body)
	}
	tbl.ACME = &api.ACMEConfig{Directory: "https://acme.invalid/dir", Hosts: []string{"auto.example.com", "more.example.com"}}
	mustApply(t, r, tbl)
	if made != 1 || fake.updates != 1 || len(fake.cfg.Hosts) != 2 {
		t.Errorf("second table: %d managers made, %d updates, hosts %v; want 1, 1 and both hosts", made, fake.updates, fake.cfg.Hosts)
	}
	tbl.ACME = nil
	mustApply(t, r, tbl)
	if _, body, _ := get(t, nil, r, "auto.example.com", "/.well-known/acme-challenge/tok"); body != "b" || r.certManager() != nil {
		t.Errorf("after a table without ACME the challenge path got %q and the manager is %v, want the route's backend and none", body, r.certManager())
	}
}

func TestParsePEMRejectsGarbage(t *testing.T) {
	for _, p := range []string{"", "garbage", "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"} {
		if _, err := parsePEM(p); err == nil {
			t.Errorf("parsePEM(%q) succeeded", p)
		}
	}
}
