package router

// HTTP/2 (TLS and h2c), WebSocket upgrades and PROXY headers on the
// listeners, against real listeners.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

func TestHTTP2OverTLSAndH2C(t *testing.T) {
	ca := newTestCA(t)
	b := newBackendServer(t, "b", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, req.Header.Get("X-Forwarded-Proto"))
	})
	r := newTestRouter(t, Config{})
	sec := route("sec", "app.example.com", "/", b)
	sec.TLS, sec.Certificate = true, "c"
	tbl := table(sec, route("plain", "app.example.com", "/", b))
	tbl.Certificates = []api.RouteCertificate{{Secret: "c", PEM: ca.issue(t, "app.example.com")}}
	mustApply(t, r, tbl)

	res, err := httpsClient(r, ca, true).Get("https://app.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || string(body) != "https" {
		t.Errorf("HTTPS: %s, backend saw proto %q; want HTTP/2 and https", res.Proto, body)
	}

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	status, body2, _ := do(t, h2c, "GET", "http://"+r.HTTPAddr().String()+"/", "app.example.com", nil)
	req, _ := http.NewRequest("GET", "http://"+r.HTTPAddr().String()+"/", nil)
	req.Host = "app.example.com"
	res, err = h2c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if status != 200 || body2 != "http" || res.ProtoMajor != 2 {
		t.Errorf("h2c: %d %q over %s, want 200 http over HTTP/2", status, body2, res.Proto)
	}
}

// wsBackend accepts an Upgrade by hijacking and then echoes lines
// upper-cased: enough of a WebSocket server to see the proxy pass an
// upgraded connection both ways.
func wsBackend(t *testing.T) *testBackend {
	return newBackendServer(t, "ws", func(w http.ResponseWriter, req *http.Request) {
		if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n")
		_ = brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = brw.WriteString(strings.ToUpper(line))
			_ = brw.Flush()
		}
	})
}

func TestWebSocketUpgrade(t *testing.T) {
	b := wsBackend(t)
	var logBuf syncBuffer
	r := newTestRouter(t, Config{AccessLog: &logBuf})
	mustApply(t, r, table(route("ws", "*", "/", b)))
	c, err := net.Dial("tcp", r.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", res.Status)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		fmt.Fprint(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Fatalf("echo of %q: %q %v", msg, got, err)
		}
	}
	c.Close()
	eventually(t, "the upgraded request is logged", func() bool {
		return strings.Contains(logBuf.String(), `"status":101`)
	})
	eventually(t, "the ended upgrade is no longer tracked", func() bool { return r.conns.len() == 0 })
}

// Close ends upgraded connections still open after the grace period.
func TestCloseEndsUpgradedConnections(t *testing.T) {
	b := wsBackend(t)
	r := newTestRouter(t, Config{})
	r.grace = 100 * time.Millisecond
	mustApply(t, r, table(route("ws", "*", "/", b)))
	c, err := net.Dial("tcp", r.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the upgraded connection is still open after Close")
	}
}

// A trusted proxy's PROXY header sets the client address; anyone else's
// header is not parsed.
func TestProxyProtocolFromTrustedProxies(t *testing.T) {
	b := newBackendServer(t, "b", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, req.Header.Get("X-Forwarded-For"))
	})
	send := func(r *Router, header string) string {
		c, err := net.Dial("tcp", r.HTTPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, header+"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "error: " + err.Error()
		}
		body, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, body)
	}
	header := "PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n"

	trusting := newTestRouter(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	mustApply(t, trusting, table(route("app", "*", "/", b)))
	if got := send(trusting, header); got != "200 203.0.113.7" {
		t.Errorf("trusted PROXY header: %q, want the header's source as client", got)
	}
	if got := send(trusting, ""); got != "200 127.0.0.1" {
		t.Errorf("trusted source without a header: %q", got)
	}

	other := newTestRouter(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	mustApply(t, other, table(route("app", "*", "/", b)))
	if got := send(other, header); !strings.HasPrefix(got, "400") {
		t.Errorf("untrusted PROXY header: %q, want 400 (not parsed)", got)
	}
	if got := send(other, ""); got != "200 127.0.0.1" {
		t.Errorf("untrusted source without a header: %q", got)
	}
}

func TestTrustedAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for addr, want := range map[string]bool{
		"10.1.2.3:5":          true,
		"[::ffff:10.1.2.3]:5": true,
		"[2001:db8::9]:5":     true,
		"192.0.2.1:5":         false,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := trustedAddr(a, trusted); got != want {
			t.Errorf("trustedAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}
