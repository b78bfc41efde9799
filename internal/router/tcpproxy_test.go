package router

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/wharfhq/wharf/api"
)

// tcpBackend reads until the client half-closes, then answers
// "name:<what it read, upper-cased>" and closes; with proxyHeader it first
// reads a PROXY header and reports its source as "name:<source>|...".
type tcpBackend struct {
	ln   net.Listener
	name string
}

func newTCPBackend(t *testing.T, name string, proxyHeader bool) *tcpBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				prefix := name + ":"
				if proxyHeader {
					h, err := proxyproto.Read(br)
					if err != nil {
						_, _ = io.WriteString(c, "bad header: "+err.Error())
						return
					}
					prefix += h.SourceAddr.String() + "|"
				}
				data, _ := io.ReadAll(br)
				_, _ = io.WriteString(c, prefix+strings.ToUpper(string(data)))
			}()
		}
	}()
	return &tcpBackend{ln: ln, name: name}
}

func (b *tcpBackend) be() api.Backend {
	return api.Backend{Container: b.name, Address: b.ln.Addr().String()}
}

// exchange sends msg to addr, half-closes, and reads the answer to EOF.
func exchange(t *testing.T, addr net.Addr, msg string) (answer string, local net.Addr) {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), c.LocalAddr()
}

func tcpTable(routes ...api.TCPRoute) *api.RouteTable {
	return &api.RouteTable{Revision: 1, Router: true, TCP: routes}
}

func TestTCPRouteWithHalfClose(t *testing.T) {
	b := newTCPBackend(t, "db", false)
	var logBuf syncBuffer
	r := newTestRouter(t, Config{AccessLog: &logBuf})
	port := freePort(t)
	mustApply(t, r, tcpTable(api.TCPRoute{Name: "db", Listen: port, Backends: []api.Backend{b.be()}}))
	if a := r.TCPAddr(port); a == nil || a.(*net.TCPAddr).Port != port {
		t.Fatalf("TCPAddr(%d) = %v", port, a)
	}
	if got, _ := exchange(t, r.TCPAddr(port), "select 1"); got != "db:SELECT 1" {
		t.Errorf("answer %q, want the backend's answer after the half-close", got)
	}
	eventually(t, "the connection is logged", func() bool { return strings.Contains(logBuf.String(), `"kind":"tcp"`) })
	var e tcpEntry
	if err := json.Unmarshal([]byte(strings.TrimSpace(logBuf.String())), &e); err != nil {
		t.Fatal(err)
	}
	if e.Listen != port || e.BytesIn != 8 || e.BytesOut != 11 || e.Backend != b.be().Address || e.Route != "db tcp:"+strconv.Itoa(port) {
		t.Errorf("access log %+v", e)
	}
}

func TestTCPRetriesAndProxyHeaders(t *testing.T) {
	for _, version := range []string{api.ProxyProtocolV1, api.ProxyProtocolV2} {
		t.Run(version, func(t *testing.T) {
			b := newTCPBackend(t, "live", true)
			r := newTestRouter(t, Config{})
			port := freePort(t)
			rt := api.TCPRoute{Name: "db", Listen: port, Backends: []api.Backend{{Container: "dead", Address: deadAddr(t)}, b.be()}}
			rt.ProxyProtocol = version
			mustApply(t, r, tcpTable(rt))
			for range 3 {
				got, local := exchange(t, r.TCPAddr(port), "x")
				if want := "live:" + local.String() + "|X"; got != want {
					t.Fatalf("answer %q, want %q", got, want)
				}
			}
		})
	}
}

// Connections survive a swap; the next connection takes the new table's
// backend; a removed port's connections are left to finish.
func TestTCPConnectionsSurviveApply(t *testing.T) {
	oldB, newB := newTCPBackend(t, "old", false), newTCPBackend(t, "new", false)
	r := newTestRouter(t, Config{})
	port := freePort(t)
	mustApply(t, r, tcpTable(api.TCPRoute{Name: "db", Listen: port, Backends: []api.Backend{oldB.be()}}))
	addr := r.TCPAddr(port).String()
	open := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "a"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	finish := func(c net.Conn) string {
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	first := open()
	// The backend has the connection once the byte went through; a second
	// exchange on another connection proves the route is live.
	if got, _ := exchange(t, r.TCPAddr(port), "p"); got != "old:P" {
		t.Fatalf("before the swap: %q", got)
	}
	mustApply(t, r, tcpTable(api.TCPRoute{Name: "db", Listen: port, Backends: []api.Backend{newB.be()}}))
	if r.TCPAddr(port).String() != addr {
		t.Fatalf("listener moved")
	}
	second := open()
	if got, _ := exchange(t, r.TCPAddr(port), "q"); got != "new:Q" {
		t.Errorf("after the swap: %q", got)
	}
	mustApply(t, r, tcpTable())
	if r.TCPAddr(port) != nil {
		t.Error("the removed route's port is still listening")
	}
	if got := finish(first); got != "old:A" {
		t.Errorf("connection opened before the swap: %q", got)
	}
	if got := finish(second); got != "new:A" {
		t.Errorf("connection of a removed route: %q", got)
	}
	eventually(t, "the removed port refuses connections", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestTCPRouteBadPorts(t *testing.T) {
	b := newTCPBackend(t, "db", false)
	r := newTestRouter(t, Config{})
	port := freePort(t)
	err := r.Apply(tcpTable(
		api.TCPRoute{Name: "zero", Listen: 0, Backends: []api.Backend{b.be()}},
		api.TCPRoute{Name: "first", Listen: port, Backends: []api.Backend{b.be()}},
		api.TCPRoute{Name: "second", Listen: port, Backends: []api.Backend{b.be()}},
	))
	if err == nil || !strings.Contains(err.Error(), "zero") || !strings.Contains(err.Error(), "first's") {
		t.Errorf("Apply: %v, want errors naming the bad port and the taken one", err)
	}
	if got, _ := exchange(t, r.TCPAddr(port), "x"); got != "db:X" {
		t.Errorf("the first route of the port: %q", got)
	}
}
