package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// One embedded etcd serves the whole test binary; each test gets its own
// key prefix.
var testEtcd *store.Embedded

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd, err = store.StartEmbedded(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testEtcd.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	t     testing.TB
	ctx   context.Context
	d     *domain.Domain
	st    *store.Store
	h     *Handler
	srv   *httptest.Server
	admin string       // the bootstrapped admin token's secret
	root  domain.Actor // its actor
}

// newEnv serves the dashboard over TLS (as the server does) on its own
// store prefix, with a bootstrapped admin token.
func newEnv(t testing.TB, tune ...func(*domain.Config)) *env {
	t.Helper()
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	prefix := "/test/" + strings.NewReplacer("/", "_", "#", "_").Replace(t.Name()) + "-" + hex.EncodeToString(id)
	st := store.New(testEtcd.Client, prefix)
	ctx := context.Background()
	admin, _, err := domain.Bootstrap(ctx, st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := domain.Config{Store: st, CADigest: "0123abcd", JoinCommand: func(tok string) string { return "curl … | sh -s " + tok }}
	for _, f := range tune {
		f(&cfg)
	}
	d, err := domain.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root, err := d.Authenticate(ctx, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Domain: d, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui", h)
	mux.Handle("/ui/", h)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return &env{t: t, ctx: ctx, d: d, st: st, h: h, srv: srv, admin: admin, root: root}
}

// browser is one client with its own cookies; it does not follow
// redirects, so tests see them.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	cc := *c
	cc.Jar = jar
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &cc, jar: jar}
}

type response struct {
	code int
	hdr  http.Header
	body string
}

// do sends a request; hdr is pairs of header name and value.
func (b *browser) do(method, path string, form url.Values, hdr ...string) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(rb)}
}

func (b *browser) get(path string) response { b.e.t.Helper(); return b.do("GET", path, nil) }

// post sends a form the way a browser on the dashboard does (same-origin).
func (b *browser) post(path string, form url.Values, hdr ...string) response {
	b.e.t.Helper()
	return b.do("POST", path, form, append([]string{"Sec-Fetch-Site", "same-origin", "Origin", b.e.srv.URL}, hdr...)...)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the form token in a page.
func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token in the page:\n%s", page)
	}
	return m[1]
}

// signIn fills in the sign-in form with fields (user and password, or
// token) and returns the answer.
func (b *browser) signIn(fields ...string) response {
	b.e.t.Helper()
	form := b.get("/ui/login")
	v := url.Values{"csrf": {csrfOf(b.e.t, form.body)}}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Set(fields[i], fields[i+1])
	}
	return b.post("/ui/login", v)
}

// signedIn is a browser signed in with token.
func (e *env) signedIn(token string) *browser {
	e.t.Helper()
	b := e.browser()
	if r := b.signIn("token", token); r.code != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d %s", r.code, r.body)
	}
	return b
}

// token makes an API token of role.
func (e *env) token(name, role string) string {
	e.t.Helper()
	tok, err := e.d.CreateToken(e.ctx, e.root, name, role, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Secret
}

func (e *env) service(name string, replicas int) *api.Service {
	e.t.Helper()
	svc, err := e.d.CreateService(e.ctx, e.root, name, api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: replicas})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func (e *env) replicas(id string) int {
	e.t.Helper()
	svc, err := e.d.GetService(e.ctx, e.root, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc.Spec.Replicas
}

func wantCode(t testing.TB, what string, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.code, code, r.body)
	}
}

func wantIn(t testing.TB, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: %q not in the page:\n%s", what, s, body)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
