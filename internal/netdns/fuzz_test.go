package netdns

import (
	"net"
	"os"
	"testing"

	"github.com/miekg/dns"

	"github.com/wharfhq/wharf/api"
)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// FuzzServe feeds raw packets to the handler as the server would (after
// miekg/dns has parsed them): it must answer or drop, never panic.
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
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil {
			return
		}
		for _, src := range []net.Addr{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5353}, &net.TCPAddr{IP: net.IPv4(10, 7, 0, 3), Port: 5353}, nil} {
			w := &fakeWriter{src: src}
			s.serve(w, r)
			if w.msg != nil && !r.Response {
				if _, err := w.msg.Pack(); err != nil {
					t.Fatalf("answer to %v does not pack: %v", r.Question, err)
				}
			}
		}
	})
}
