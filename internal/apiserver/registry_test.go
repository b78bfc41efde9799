package apiserver

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
	"github.com/wharfhq/wharf/internal/store"
)

// testRegistry is a real built-in registry on a temp dir, with the cluster
// CA that signs its nodes' certificates.
type testRegistry struct {
	reg *registry.Registry
	ca  *pki.CA
	key []byte
}

// withRegistry gives the server a real registry (its storage in a temp
// dir) and a cluster CA; tr receives them.
func withRegistry(t *testing.T, tr *testRegistry) func(*Server) {
	return func(s *Server) {
		reg, err := registry.New(t.Context(), registry.Config{Dir: t.TempDir(), HTTPSecret: "test-http-secret", GCQuiet: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reg.Close)
		ca, err := pki.NewCA("test cluster CA")
		if err != nil {
			t.Fatal(err)
		}
		s.cfg.Images, s.cfg.RegistryHost, s.cfg.RegistryKey, s.cfg.ClusterCA = reg, "registry.test:7443", []byte("0123456789abcdef0123456789abcdef"), ca.Cert
		if tr != nil {
			*tr = testRegistry{reg: reg, ca: ca, key: s.cfg.RegistryKey}
		}
	}
}

// registryEnv is an API server with its registry front door on a TLS
// listener that asks for client certificates, as the server's is.
type registryEnv struct {
	*env
	tr  testRegistry
	url string // https://127.0.0.1:port
}

func newRegistryEnv(t *testing.T, tune ...func(*httptest.Server)) *registryEnv {
	re := &registryEnv{}
	re.env = newEnv(t, withRegistry(t, &re.tr))
	mux := http.NewServeMux()
	mux.Handle("/", re.s.Handler())
	mux.Handle("/v2/", re.s.RegistryHandler(re.tr.reg.Handler()))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	for _, f := range tune {
		f(srv)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	re.url = srv.URL
	return re
}

// client is an HTTPS client of the registry, presenting cert when set.
func (re *registryEnv) client(cert *tls.Certificate) *http.Client {
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test server's own certificate
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// node stores a node of org and returns it with a client certificate the
// test CA signed for it (its current one).
func (re *registryEnv) node(t *testing.T, id, org string) (api.Node, tls.Certificate) {
	t.Helper()
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(id)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, serial, err := re.tr.ca.SignNodeCSR(csrPEM, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	n := api.Node{Meta: api.Meta{ID: id, Name: id, Org: org}, Hostname: id, State: api.NodeDeployed, CertSerial: serial}
	if err := re.st.Create(t.Context(), store.KindNodes, &n); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return n, cert
}

func (re *registryEnv) modifyNode(t *testing.T, id string, fn func(*api.Node)) {
	t.Helper()
	var n api.Node
	if err := re.st.Modify(t.Context(), store.KindNodes, id, &n, func() ([]api.Event, error) { fn(&n); return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

func (re *registryEnv) domainAt(t *testing.T, now time.Time) *domain.Domain {
	d, err := domain.New(domain.Config{Store: re.st, RegistryKey: re.tr.key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRegistryAuth checks who the registry's front door lets in, and for
// what: tokens by role and organization, node credentials and node
// certificates (pull only, own organization only), and the refusals.
func TestRegistryAuth(t *testing.T) {
	re := newRegistryEnv(t)
	c := re.client(nil)
	admin := basic("anyone", re.admin)
	digest := registrytest.Push(t, c, re.url, admin, "default/app", "v1", "default")
	bTok := orgToken(t, re.st, "b", api.RoleAdmin)
	registrytest.Push(t, c, re.url, basic("x", bTok), "b/app", "v1", "b")
	manifest := re.url + "/v2/default/app/manifests/v1"

	status := func(c *http.Client, method, u string, auth func(*http.Request)) (int, string, http.Header) {
		t.Helper()
		code, body, h, err := registrytest.Status(c, method, u, auth)
		if err != nil {
			t.Fatal(err)
		}
		return code, body, h
	}
	// No credential: the Basic challenge docker login answers.
	code, _, h := status(c, "GET", re.url+"/v2/", nil)
	if code != 401 || h.Get("WWW-Authenticate") != `Basic realm="wharf"` {
		t.Fatalf("no credential: %d %q", code, h.Get("WWW-Authenticate"))
	}
	if code, _, _ := status(c, "GET", re.url+"/v2/", admin); code != 200 {
		t.Fatalf("GET /v2/ with the admin token: %d", code)
	}
	if code, _, _ := status(c, "GET", manifest, basic("x", "wharf_wrong")); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _, _ := status(c, "HEAD", manifest, admin); code != 200 {
		t.Fatalf("HEAD manifest: %d", code)
	}

	// A read-only token pulls, never pushes or deletes.
	ro := orgToken(t, re.st, "default", api.RoleReadOnly)
	if code, _, _ := status(c, "GET", manifest, basic("x", ro)); code != 200 {
		t.Fatalf("read-only pull: %d", code)
	}
	if _, err := registrytest.TryPush(c, re.url, basic("x", ro), "default/app", "v2", "ro"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("read-only push: %v", err)
	}
	if code, _, _ := status(c, "DELETE", re.url+"/v2/default/app/manifests/"+digest, basic("x", ro)); code != 403 {
		t.Fatalf("read-only delete: %d", code)
	}
	// A deploy token pushes but does not delete (registry admin).
	deploy := orgToken(t, re.st, "default", api.RoleDeploy)
	registrytest.Push(t, c, re.url, basic("x", deploy), "default/app", "v2", "deploy")
	if code, _, _ := status(c, "DELETE", re.url+"/v2/default/app/manifests/"+digest, basic("x", deploy)); code != 403 {
		t.Fatalf("deploy delete: %d", code)
	}

	// The audit trail names who pushed which manifest, and who was
	// refused a delete.
	_, acts := re.do("GET", "/v1/actions?limit=1000", re.admin, "")
	for _, want := range []string{`"path":"/v2/default/app/manifests/v1"`, `"object":"default/app:v2"`, `"who":"default-deploy"`, `"status":403`} {
		if !strings.Contains(string(acts), want) {
			t.Errorf("actions lack %s: %s", want, acts)
		}
	}

	// Another organization's repository: refused, pull and push, and not
	// in the catalog; a repository with no organization is not found.
	if code, _, _ := status(c, "GET", re.url+"/v2/b/app/manifests/v1", admin); code != 403 && code != 404 {
		t.Fatalf("default's token pulls b/app: %d", code)
	}
	if _, err := registrytest.TryPush(c, re.url, basic("x", bTok), "default/app", "evil", "b"); err == nil {
		t.Fatal("b's token pushed into default/app")
	}
	if code, _, _ := status(c, "GET", re.url+"/v2/app/tags/list", admin); code != 404 && code != 403 {
		t.Fatalf("repository without organization: %d", code)
	}
	_, body, _ := status(c, "GET", re.url+"/v2/_catalog", basic("x", bTok))
	if !strings.Contains(body, `"b/app"`) || strings.Contains(body, "default/") {
		t.Fatalf("b's catalog: %s", body)
	}
	if code, _, _ := status(c, "GET", re.url+"/v2/default%2fapp/tags/list", admin); code != 404 {
		t.Fatalf("an escaped path: %d", code)
	}

	// Nodes: the pull credential the server signs pulls its own
	// organization's images and nothing else.
	nA, certA := re.node(t, "node-a", "default")
	nB, certB := re.node(t, "node-b", "b")
	credA, err := re.s.d.NodeRegistryCredential(nA)
	if err != nil {
		t.Fatal(err)
	}
	credB, _ := re.s.d.NodeRegistryCredential(nB)
	if code, body, _ := status(c, "GET", manifest, basic(credA.Username, credA.Password)); code != 200 {
		t.Fatalf("node credential pull: %d %s", code, body)
	}
	if code, _, _ := status(c, "GET", manifest, basic(credB.Username, credB.Password)); code != 404 {
		t.Fatalf("another organization's node credential: %d", code)
	}
	if _, err := registrytest.TryPush(c, re.url, basic(credA.Username, credA.Password), "default/app", "node", "n"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("node credential push: %v", err)
	}
	// Forged: node-b's MAC under node-a's name, a flipped MAC, a token
	// as the password of the node path, an expired credential.
	forged := []struct{ what, user, pass string }{
		{"another node's password", credA.Username, credB.Password},
		{"a flipped MAC", credA.Username, flipLast(credA.Password)},
		{"a user token on the node path", credA.Username, re.admin},
		{"a later expiry", credA.Username, "v1.99999999999." + strings.Split(credA.Password, ".")[2]},
	}
	old, _ := re.domainAt(t, time.Now().Add(-3*time.Hour)).NodeRegistryCredential(nA)
	forged = append(forged, struct{ what, user, pass string }{"an expired credential", old.Username, old.Password})
	for _, f := range forged {
		if code, _, _ := status(c, "GET", manifest, basic(f.user, f.pass)); code != 401 {
			t.Errorf("%s: %d, want 401", f.what, code)
		}
	}
	// A credential signed under another key.
	other, _ := domain.New(domain.Config{Store: re.st, RegistryKey: []byte("another key, another cluster....")})
	if cred, _ := other.NodeRegistryCredential(nA); true {
		if code, _, _ := status(c, "GET", manifest, basic(cred.Username, cred.Password)); code != 401 {
			t.Errorf("another key's credential: %d", code)
		}
	}

	// Node certificates: the current one pulls its organization's images;
	// another organization's, a renewed-away one, a removed node's and a
	// certificate of another CA do not.
	if code, _, _ := status(re.client(&certA), "GET", manifest, nil); code != 200 {
		t.Fatalf("node certificate pull: %d", code)
	}
	if code, _, _ := status(re.client(&certB), "GET", manifest, nil); code != 404 {
		t.Fatalf("another organization's node certificate: %d", code)
	}
	if code, _, _ := status(re.client(&certA), "PUT", manifest, nil); code != 403 {
		t.Fatalf("node certificate push: %d", code)
	}
	re.modifyNode(t, nA.ID, func(n *api.Node) { n.CertSerial = "12345" })
	if code, _, _ := status(re.client(&certA), "GET", manifest, nil); code != 401 {
		t.Fatalf("a renewed-away node certificate: %d", code)
	}
	re.modifyNode(t, nB.ID, func(n *api.Node) { n.State = api.NodeTerminated })
	if code, _, _ := status(c, "GET", re.url+"/v2/b/app/manifests/v1", basic(credB.Username, credB.Password)); code != 401 {
		t.Fatalf("a removed node's credential: %d", code)
	}
	otherCA, _ := pki.NewCA("another CA")
	keyPEM, csrPEM, _ := pki.NewKeyAndCSR("node-a")
	certPEM, _, _ := otherCA.SignNodeCSR(csrPEM, "node-a", time.Hour)
	fake, _ := tls.X509KeyPair(certPEM, keyPEM)
	if code, _, _ := status(re.client(&fake), "GET", manifest, nil); code != 401 {
		t.Fatalf("another CA's certificate: %d", code)
	}
}

// TestRegistryAuthThrottled: wrong registry credentials count in the same
// throttle as wrong API tokens, so guessing over /v2/ is refused too.
func TestRegistryAuthThrottled(t *testing.T) {
	re := newRegistryEnv(t)
	c := re.client(nil)
	// A good API token as a Bearer is taken as the API takes it, and an
	// unknown scheme is refused without counting: neither guesses, so 20
	// of them leave the source unthrottled.
	header := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", v) } }
	for range 20 {
		if code, _, _, err := registrytest.Status(c, "GET", re.url+"/v2/", header("Bearer "+re.admin)); err != nil || code != http.StatusOK {
			t.Fatalf("GET /v2/ with the admin token as a Bearer: %d %v", code, err)
		}
		if code, _, _, err := registrytest.Status(c, "GET", re.url+"/v2/", header("Digest x")); err != nil || code != http.StatusUnauthorized {
			t.Fatalf("GET /v2/ with another scheme: %d %v", code, err)
		}
	}
	var last int
	for range 15 {
		code, _, _, err := registrytest.Status(c, "GET", re.url+"/v2/", basic("x", "wharf_guess"))
		if err != nil {
			t.Fatal(err)
		}
		last = code
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 15 wrong passwords: %d, want 429", last)
	}
	// The API refuses the source too: one throttle.
	if code, _ := re.do("GET", "/v1/registry", re.admin, ""); code != http.StatusTooManyRequests {
		t.Fatalf("GET /v1/registry: %d", code)
	}
}

// TestImageRoutes: GET /v1/registry, image ls, rm and gc over a real
// registry.
func TestImageRoutes(t *testing.T) {
	re := newRegistryEnv(t)
	c := re.client(nil)
	admin := basic("x", re.admin)
	registrytest.Push(t, c, re.url, admin, "default/app", "v1", "one")
	d2 := registrytest.Push(t, c, re.url, admin, "default/app", "v2", "two")
	registrytest.Push(t, c, re.url, admin, "default/app", "also-v2", "two")

	var info api.RegistryInfo
	if code, body := re.do("GET", "/v1/registry", re.admin, ""); code != 200 || json.Unmarshal(body, &info) != nil || info.Host != "registry.test:7443" {
		t.Fatalf("GET /v1/registry: %d %s", code, body)
	}
	list := func() []api.Image {
		var l api.ImageList
		if code, body := re.do("GET", "/v1/images", re.admin, ""); code != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET /v1/images: %d %s", code, body)
		}
		return l.Items
	}
	if l := list(); len(l) != 3 || l[0].Tag != "also-v2" || l[0].Digest != d2 || l[0].Size == 0 || l[2].Tag != "v2" {
		t.Fatalf("images: %+v", l)
	}
	for ref, want := range map[string]int{"default/app": 400, "default/app:nosuch": 404, "b/app:v1": 404, "default/app@sha256:xyz": 400} {
		if code, body := re.do("DELETE", "/v1/images?ref="+ref, re.admin, ""); code != want {
			t.Errorf("DELETE %s: %d %s, want %d", ref, code, body, want)
		}
	}
	deploy := orgToken(t, re.st, "default", api.RoleDeploy)
	if code, _ := re.do("DELETE", "/v1/images?ref=default/app:v1", deploy, ""); code != 403 {
		t.Fatalf("deploy token removes an image: %d", code)
	}
	// A tag whose manifest another tag shares leaves the manifest; the
	// digest removes it with its tags.
	if code, body := re.do("DELETE", "/v1/images?ref=default/app:v2", re.admin, ""); code != 204 {
		t.Fatalf("rm v2: %d %s", code, body)
	}
	if l := list(); len(l) != 2 || l[0].Tag != "also-v2" {
		t.Fatalf("after rm v2: %+v", l)
	}
	if code, body := re.do("DELETE", "/v1/images?ref=default/app@"+d2, re.admin, ""); code != 204 {
		t.Fatalf("rm by digest: %d %s", code, body)
	}
	if l := list(); len(l) != 1 || l[0].Tag != "v1" {
		t.Fatalf("after rm by digest: %+v", l)
	}
	// gc: server administrators only; it frees the removed image's blobs.
	b := orgToken(t, re.st, "b", api.RoleAdmin)
	if code, _ := re.do("POST", "/v1/images/gc", b, ""); code != 403 {
		t.Fatalf("gc by b: %d", code)
	}
	var res api.ImageGCResult
	if code, body := re.do("POST", "/v1/images/gc", re.admin, ""); code != 200 || json.Unmarshal(body, &res) != nil || res.BlobsAfter >= res.BlobsBefore {
		t.Fatalf("gc: %d %s", code, body)
	}
	if code, _, _, _ := registrytest.Status(c, "GET", re.url+"/v2/default/app/manifests/v1", admin); code != 200 {
		t.Fatalf("v1 after gc: %d", code)
	}
}

// TestSlowPushOutlivesReadTimeout: a layer upload slower than the
// listener's read timeout (made for small API bodies) still completes for
// an authenticated pusher.
func TestSlowPushOutlivesReadTimeout(t *testing.T) {
	re := newRegistryEnv(t, func(s *httptest.Server) { s.Config.ReadTimeout = 300 * time.Millisecond })
	c := re.client(nil)
	req, _ := http.NewRequest("POST", re.url+"/v2/default/slow/blobs/uploads/", nil)
	req.SetBasicAuth("x", re.admin)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	resp.Body.Close()
	pr, pw := io.Pipe()
	go func() {
		for range 6 {
			time.Sleep(150 * time.Millisecond)
			_, _ = pw.Write([]byte("0123456789"))
		}
		_ = pw.Close()
	}()
	loc := resp.Header.Get("Location")
	if strings.HasPrefix(loc, "/") {
		loc = re.url + loc
	}
	req, _ = http.NewRequest("PATCH", loc, pr)
	req.SetBasicAuth("x", re.admin)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatalf("a slow layer upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a slow layer upload: %d", resp.StatusCode)
	}
}

// flipLast changes the last character of s to another one.
func flipLast(s string) string {
	last := "A"
	if strings.HasSuffix(s, "A") {
		last = "B"
	}
	return s[:len(s)-1] + last
}
