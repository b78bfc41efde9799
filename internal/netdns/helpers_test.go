package netdns

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// start returns a Server with cfg listening on 127.0.0.1 (a free port)
// and the address to query it on.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Search == nil {
		cfg.Search = []string{}
	}
	if cfg.Upstreams == nil {
		cfg.Upstreams = []string{deadUpstream(t)}
	}
	s := New(cfg)
	t.Cleanup(s.Close)
	want := netip.MustParseAddrPort("127.0.0.1:0")
	if err := s.Listen(want); err != nil {
		t.Fatal(err)
	}
	bound, ok := s.BoundAddr(want)
	if !ok || bound.Port() == 0 {
		t.Fatalf("BoundAddr(%s) = %s, %v; want a port", want, bound, ok)
	}
	return s, bound.String()
}

// deadUpstream is a "127.0.0.1:port" nothing listens on (UDP) when it
// returns.
func deadUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// query asks server for name/qtype over network ("udp" or "tcp") from
// source (empty: any local address).
func query(t *testing.T, network, server, source, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 10 * time.Second}
	if source != "" {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if network == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(source)}
		}
		c.Dialer = d
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// addrs is the A records of r, as strings.
func addrs(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// fakeUpstream is a DNS server on 127.0.0.1 answering with handler.
func fakeUpstream(t *testing.T, handler dns.HandlerFunc) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		// The UDP port may be some TCP socket's: then take another.
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			if try == 8 {
				t.Fatal(err)
			}
		}
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("fake upstream did not start")
		}
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// fakeWriter records what a handler writes, as from src over UDP.
type fakeWriter struct {
	src net.Addr
	msg *dns.Msg
}

func (w *fakeWriter) LocalAddr() net.Addr         { return &net.UDPAddr{IP: net.IPv4(10, 7, 0, 1), Port: 53} }
func (w *fakeWriter) RemoteAddr() net.Addr        { return w.src }
func (w *fakeWriter) WriteMsg(m *dns.Msg) error   { w.msg = m; return nil }
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *fakeWriter) Close() error                { return nil }
func (w *fakeWriter) TsigStatus() error           { return nil }
func (w *fakeWriter) TsigTimersOnly(bool)         {}
func (w *fakeWriter) Hijack()                     {}
