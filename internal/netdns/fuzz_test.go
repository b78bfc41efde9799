package netdns

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/miekg/dns"

	"github.com/wharfhq/wharf/api"
)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// FuzzServe feeds raw packets to the UDP path (handlePacket) and, when they
// parse, to ServeDNS (the TCP path): each must answer or drop, never panic.
func FuzzServe(f *testing.F) {
	for _, name := range []string{"web.", "WEB.", "db.", "tasks.db.", "3.0.7.10.in-addr.arpa.", ".", "example.com."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypePTR, dns.TypeANY, dns.TypeMX} {
			m := new(dns.Msg)
			m.SetQuestion(name, qt)
			m.SetEdns0(4096, false)
			if b, err := m.Pack(); err == nil {
				f.Add(b)
			}
		}
	}
	s := New(Config{Upstreams: []string{"127.0.0.1:9"}, Search: []string{"corp.example"}})
	s.upstreams = nil // no network: every forward is SERVFAIL
	s.Update([]api.NodeNetwork{stackNet(), {Subnet: "not a subnet", Names: map[string][]string{"X.": {"bad", "::1", "10.1.1.1"}}}})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The UDP path takes the raw datagram.
		for _, src := range []netip.AddrPort{netip.MustParseAddrPort("127.0.0.2:5353"), netip.MustParseAddrPort("10.7.0.3:5353"), {}} {
			answer, fwd := s.handlePacket(b, src, make([]byte, 512))
			if answer != nil && fwd != nil {
				t.Fatalf("both an answer and a query to forward")
			}
			if fwd != nil && s.pack(fwd, s.forward(fwd, false), nil) == nil {
				t.Fatalf("the SERVFAIL for %v does not pack", fwd.Question)
			}
		}
		// The TCP path takes what miekg/dns parsed.
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil {
			return
		}
		for _, src := range []net.Addr{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5353}, &net.TCPAddr{IP: net.IPv4(10, 7, 0, 3), Port: 5353}, nil} {
			w := &fakeWriter{src: src}
			s.ServeDNS(w, r)
			if w.msg != nil {
				if _, err := w.msg.Pack(); err != nil {
					t.Fatalf("answer to %v does not pack: %v", r.Question, err)
				}
			}
		}
	})
}
