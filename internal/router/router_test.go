package router

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/promtext"
	"github.com/wharfhq/wharf/internal/testserver"
)

func TestHTTPRoutingByHostAndPath(t *testing.T) {
	api1 := newBackendServer(t, "api", nil)
	root := newBackendServer(t, "root", nil)
	wild := newBackendServer(t, "wild", nil)
	anyb := newBackendServer(t, "any", nil)
	r := newTestRouter(t, Config{})
	// Least specific first: the router sorts.
	mustApply(t, r, table(
		route("any", "*", "/", anyb),
		route("wild", "*.example.com", "/", wild),
		route("root", "app.example.com", "/", root),
		route("api", "app.example.com", "/api", api1),
	))
	cases := []struct{ host, path, want string }{
		{"app.example.com", "/api", "api"},
		{"APP.example.com:80", "/api/x", "api"},
		{"app.example.com", "/apix", "root"},
		{"a.b.example.com", "/api", "wild"},
		{"example.org", "/", "any"},
	}
	for _, c := range cases {
		status, body, _ := get(t, nil, r, c.host, c.path)
		if status != 200 || body != c.want {
			t.Errorf("%s%s: %d %q, want 200 %q", c.host, c.path, status, body, c.want)
		}
	}
}

func TestHTTPNoRouteAndNoBackend(t *testing.T) {
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("empty", "empty.example.com", "/")))
	status, body, _ := get(t, nil, r, "nowhere.example.com", "/")
	if status != http.StatusNotFound || !strings.Contains(body, "nowhere.example.com") {
		t.Errorf("no route: %d %q, want 404 naming the host", status, body)
	}
	status, body, _ = get(t, nil, r, "empty.example.com", "/")
	if status != http.StatusServiceUnavailable {
		t.Errorf("no backend: %d %q, want 503", status, body)
	}
}

func TestTLSRoutesOnlyOnHTTPSAndForceSSL(t *testing.T) {
	ca := newTestCA(t)
	plainB := newBackendServer(t, "plain", nil)
	secureB := newBackendServer(t, "secure", nil)
	r := newTestRouter(t, Config{})
	sec := route("secure", "secure.example.com", "/", secureB)
	sec.TLS, sec.Certificate = true, "cert"
	forced := route("forced", "forced.example.com", "/", secureB)
	forced.TLS, forced.Certificate, forced.ForceSSL = true, "cert", true
	tbl := table(route("plain", "plain.example.com", "/", plainB), sec, forced)
	tbl.Certificates = []api.RouteCertificate{{Secret: "cert", PEM: ca.issue(t, "secure.example.com", "forced.example.com", "plain.example.com")}}
	mustApply(t, r, tbl)

	c := noRedirects()
	if status, _, _ := get(t, c, r, "secure.example.com", "/"); status != 404 {
		t.Errorf("TLS route over HTTP: %d, want 404", status)
	}
	status, _, h := get(t, c, r, "forced.example.com", "/a?b=c")
	port := strconv.Itoa(r.HTTPSAddr().(*net.TCPAddr).Port)
	if want := "https://forced.example.com:" + port + "/a?b=c"; status != http.StatusPermanentRedirect || h.Get("Location") != want {
		t.Errorf("ForceSSL: %d to %q, want 308 to %q", status, h.Get("Location"), want)
	}
	hc := httpsClient(r, ca, false)
	if status, body, _ := do(t, hc, "GET", "https://secure.example.com/", "", nil); status != 200 || body != "secure" {
		t.Errorf("TLS route over HTTPS: %d %q", status, body)
	}
	if status, _, _ := do(t, hc, "GET", "https://plain.example.com/", "", nil); status != 404 {
		t.Errorf("plain route over HTTPS: %d, want 404", status)
	}
}

// A table swap keeps the listener and the client's keep-alive connection,
// lets a request in flight finish on its backend, sends new requests to
// the new backends and closes the idle connections to the removed one.
func TestApplySwapsWithoutDroppingConnections(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var closedOld sync.WaitGroup
	var idleClosed atomicBool
	oldB := newBackendServerWith(t, "old", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "old")
	}, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				idleClosed.set()
			}
		}
	})
	newB := newBackendServer(t, "new", nil)
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "app.example.com", "/", oldB)))
	addr := r.HTTPAddr().String()

	client := &http.Client{Transport: &http.Transport{}}
	if _, body, _ := get(t, client, r, "app.example.com", "/"); body != "old" {
		t.Fatalf("before the swap: %q", body)
	}
	slow := make(chan string, 1)
	closedOld.Add(1)
	go func() {
		defer closedOld.Done()
		req, _ := http.NewRequest("GET", "http://"+addr+"/slow", nil)
		req.Host = "app.example.com"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(b)
	}()
	<-started
	tbl := table(route("app", "app.example.com", "/", newB))
	tbl.Revision = 2
	mustApply(t, r, tbl)
	if r.HTTPAddr().String() != addr {
		t.Fatalf("listener moved from %s to %s", addr, r.HTTPAddr())
	}
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "app.example.com"
	res, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "new" || !reused {
		t.Errorf("after the swap: %q on a reused connection %v, want \"new\" on the same connection", b, reused)
	}
	close(release)
	if got := <-slow; got != "old" {
		t.Errorf("request in flight across the swap: %q, want \"old\"", got)
	}
	closedOld.Wait()
	eventually(t, "the removed backend's idle connection is closed", idleClosed.get)
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) set() { b.mu.Lock(); b.v = true; b.mu.Unlock() }
func (b *atomicBool) get() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v
}

func TestRouterFalseClosesListeners(t *testing.T) {
	b := newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{})
	tbl := table(route("app", "*", "/", b))
	tbl.TCP = []api.TCPRoute{{Name: "db", Listen: freePort(t), Backends: []api.Backend{b.be()}}}
	mustApply(t, r, tbl)
	port := tbl.TCP[0].Listen
	addrs := []net.Addr{r.HTTPAddr(), r.HTTPSAddr(), r.TCPAddr(port)}
	for _, a := range addrs {
		if a == nil {
			t.Fatalf("listeners %v: one missing", addrs)
		}
	}
	off := *tbl
	off.Router = false
	mustApply(t, r, &off)
	if r.HTTPAddr() != nil || r.HTTPSAddr() != nil || r.TCPAddr(port) != nil {
		t.Fatalf("Router=false left listeners %v %v %v", r.HTTPAddr(), r.HTTPSAddr(), r.TCPAddr(port))
	}
	// The sockets are closed by the time Apply returns.
	for _, a := range addrs {
		if c, err := net.Dial("tcp", a.String()); err == nil {
			c.Close()
			t.Errorf("listener %s still accepts after Router=false", a)
		}
	}
	mustApply(t, r, tbl)
	if status, body, _ := get(t, nil, r, "x", "/"); status != 200 || body != "b" {
		t.Errorf("after Router=true again: %d %q", status, body)
	}
}

// A port in use is an error, but the rest of the table applies.
func TestApplyPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	b := newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{})
	tbl := table(route("app", "*", "/", b))
	port := busy.Addr().(*net.TCPAddr).Port
	tbl.TCP = []api.TCPRoute{{Name: "db", Listen: port, Backends: []api.Backend{b.be()}}}
	err = r.Apply(tbl)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("Apply with a busy port: %v, want an error naming port %d", err, port)
	}
	if status, body, _ := get(t, nil, r, "x", "/"); status != 200 || body != "b" {
		t.Errorf("HTTP beside the busy port: %d %q", status, body)
	}
}

func TestForwardingHeaders(t *testing.T) {
	b := newBackendServer(t, "echo", func(w http.ResponseWriter, req *http.Request) {
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"} {
			_, _ = io.WriteString(w, h+": "+req.Header.Get(h)+"\n")
		}
		_, _ = io.WriteString(w, "Host: "+req.Host+"\n")
	})
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "*", "/", b)))
	req, _ := http.NewRequest("GET", "http://"+r.HTTPAddr().String()+"/", nil)
	req.Host = "app.example.com"
	req.Header.Set("X-Forwarded-For", "192.0.2.1")
	req.Header.Set("Forwarded", "for=192.0.2.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		"X-Forwarded-For: 192.0.2.1, 127.0.0.1\n",
		"X-Forwarded-Proto: http\n",
		"X-Forwarded-Host: app.example.com\n",
		"Forwarded: for=192.0.2.1, for=127.0.0.1;host=app.example.com;proto=http\n",
		"Host: app.example.com\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("backend saw\n%s\nwithout %q", body, want)
		}
	}
}

func TestForwardedNode(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000":  "127.0.0.1",
		"[::1]:5000":      `"[::1]"`,
		"[2001:db8::1]:1": `"[2001:db8::1]"`,
	} {
		if got := forwardedNode(in); got != want {
			t.Errorf("forwardedNode(%q) = %s, want %s", in, got, want)
		}
	}
	if got := forwardedValue("host:8080"); got != `"host:8080"` {
		t.Errorf("a host with a port is quoted: %s", got)
	}
}

func TestMetricsAndAccessLog(t *testing.T) {
	var logBuf syncBuffer
	reg := promtext.NewRegistry()
	b := newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{Metrics: reg, AccessLog: &logBuf})
	dead := api.Backend{Container: "dead", Address: deadAddr(t)}
	rt := route("web", "app.example.com", "/", b)
	rt.Backends = append([]api.Backend{dead}, rt.Backends...)
	mustApply(t, r, table(rt))
	for range 3 {
		if status, _, _ := get(t, nil, r, "app.example.com", "/x"); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	label := "web http://app.example.com/"
	if got := metricValue(t, reg, "wharf_router_http_requests_total", label, "2xx"); got != 3 {
		t.Errorf("2xx requests = %v, want 3", got)
	}
	if got := metricValue(t, reg, "wharf_router_backend_connect_errors_total", label, ""); got < 1 {
		t.Errorf("connect errors = %v, want at least 1 (a dead backend)", got)
	}
	if got := metricValue(t, reg, "wharf_router_retries_total", label, ""); got < 1 {
		t.Errorf("retries = %v, want at least 1", got)
	}
	if got := metricValue(t, reg, "wharf_router_http_request_duration_seconds", label, ""); got != 3 {
		t.Errorf("duration observations = %v, want 3", got)
	}
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("access log has %d lines, want 3:\n%s", len(lines), logBuf.String())
	}
	var e httpEntry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Method != "GET" || e.Host != "app.example.com" || e.Path != "/x" || e.Status != 200 ||
		e.Route != label || e.Backend != b.be().Address || !strings.HasPrefix(e.Client, "127.0.0.1:") || e.Bytes != 1 {
		t.Errorf("access log line %s", lines[0])
	}
	// A route removed from the table takes its series with it.
	mustApply(t, r, table())
	if got := metricValue(t, reg, "wharf_router_http_requests_total", label, "2xx"); got != -1 {
		t.Errorf("request series after the route went: %v, want none", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the router's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Close lets a request in flight finish.
func TestCloseLetsRequestsFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	b := newBackendServer(t, "b", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "*", "/", b)))
	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + r.HTTPAddr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(body)
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	eventually(t, "the listener is closed", func() bool { return r.HTTPAddr() == nil })
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("request in flight during Close: %q", body)
	}
	if err := <-closed; err != nil {
		t.Error(err)
	}
	if err := r.Apply(table()); err == nil {
		t.Error("Apply after Close succeeded")
	}
}

// freePort is a port for a tcp route to listen on later, drawn below the
// kernel's ephemeral range (see testserver.FreePort): a port the kernel
// handed out for port 0 and took back can go to any outgoing connection of
// a test running beside this one before the router binds it.
func freePort(t testing.TB) int {
	t.Helper()
	return testserver.FreePort(t)
}

// metricValue reads reg's text exposition and returns the value of the
// series of name for route (and code, when set): a counter's or gauge's
// value, a histogram's count; -1 when there is no such series.
func metricValue(t testing.TB, reg *promtext.Registry, name, route, code string) float64 {
	t.Helper()
	var buf bytes.Buffer
	if _, err := reg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	want := name
	if strings.Contains(buf.String(), "# TYPE "+name+" histogram\n") {
		want = name + "_count"
	}
series:
	for _, line := range strings.Split(buf.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, labels, value := parseSample(t, line)
		if n != want || labels["route"] != route {
			continue
		}
		for _, l := range []string{"code", "direction"} {
			if v, ok := labels[l]; ok && code != "" && v != code {
				continue series
			}
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return f
	}
	return -1
}

// parseSample splits a text-format sample line into its name, labels and
// value.
func parseSample(t testing.TB, line string) (string, map[string]string, string) {
	t.Helper()
	labels := map[string]string{}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		t.Fatalf("sample %q: no value", line)
	}
	name, rest := line[:i], line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for rest[0] != '}' {
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				t.Fatalf("sample %q: bad labels", line)
			}
			l := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			for rest[0] != '"' {
				if rest[0] == '\\' {
					rest = rest[1:]
					if rest[0] == 'n' {
						v.WriteByte('\n')
						rest = rest[1:]
						continue
					}
				}
				v.WriteByte(rest[0])
				rest = rest[1:]
			}
			labels[l] = v.String()
			rest = strings.TrimPrefix(rest[1:], ",")
		}
		rest = rest[1:]
	}
	return name, labels, strings.TrimPrefix(rest, " ")
}

// A client on IPv6 is quoted in Forwarded and plain in X-Forwarded-For.
func TestForwardingHeadersIPv6Client(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	probe.Close()
	b := newBackendServer(t, "echo", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, req.Header.Get("X-Forwarded-For")+"|"+req.Header.Get("Forwarded"))
	})
	r := newTestRouter(t, Config{HTTPAddr: "[::1]:0"})
	mustApply(t, r, table(route("app", "*", "/", b)))
	_, body, _ := get(t, nil, r, "v6.example.com", "/")
	if want := `::1|for="[::1]";host=v6.example.com;proto=http`; body != want {
		t.Errorf("backend saw %q, want %q", body, want)
	}
}
