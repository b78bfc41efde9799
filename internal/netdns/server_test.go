package netdns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/wharfhq/wharf/api"
)

// stackNet is a network with a plain service "web" (three ready
// containers), a service "db" and a stack s1's "db" (service "s1-db"),
// and "gone", a service without a ready container.
func stackNet() api.NodeNetwork {
	return api.NodeNetwork{
		ID: "n1", Name: "default", Subnet: "10.7.0.0/16", Gateway: "10.7.0.1",
		Names: map[string][]string{
			"web":         {"10.7.0.2", "10.7.0.3", "10.7.0.4"},
			"tasks.web":   {"10.7.0.2", "10.7.0.3", "10.7.0.4"},
			"web-1":       {"10.7.0.2"},
			"web-2":       {"10.7.0.3"},
			"web-3":       {"10.7.0.4"},
			"db":          {"10.7.0.9"},
			"s1-db":       {"10.7.0.5"},
			"db.s1":       {"10.7.0.5"},
			"tasks.db.s1": {"10.7.0.5"},
			"db-1.s1":     {"10.7.0.5"},
			"gone":        {},
		},
		Scopes: map[string]string{"127.0.0.2": "s1"},
	}
}

func TestServiceNameAnswersReadyAddresses(t *testing.T) {
	s, addr := start(t, Config{})
	s.Update([]api.NodeNetwork{stackNet()})
	want := []string{"10.7.0.2", "10.7.0.3", "10.7.0.4"}
	firsts := map[string]bool{}
	for i := range 40 {
		name := "web."
		if i%2 == 1 {
			name = "WeB." // case-insensitive
		}
		r := query(t, "udp", addr, "", name, dns.TypeA)
		got := addrs(r)
		if r.Rcode != dns.RcodeSuccess || !sameSet(got, want) {
			t.Fatalf("%s: rcode %s, addresses %v; want NOERROR %v", name, dns.RcodeToString[r.Rcode], got, want)
		}
		if r.Answer[0].Header().Ttl > 1 || r.Answer[0].Header().Name != name {
			t.Fatalf("answer header %v; want TTL 0 or 1 and the name as asked", r.Answer[0].Header())
		}
		firsts[got[0]] = true
	}
	if len(firsts) < 2 {
		t.Errorf("40 answers all began with %v: not shuffled", firsts)
	}
	for name, want := range map[string][]string{"web-2.": {"10.7.0.3"}, "tasks.web.": {"10.7.0.2", "10.7.0.3", "10.7.0.4"}, "db-1.s1.": {"10.7.0.5"}} {
		if got := addrs(query(t, "udp", addr, "", name, dns.TypeA)); !sameSet(got, want) {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
	r := query(t, "udp", addr, "", "web.", dns.TypeAAAA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("AAAA web: rcode %s, %d answers; want NOERROR and none (NODATA)", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	r = query(t, "udp", addr, "", "gone.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Errorf("gone (no ready container): rcode %s, %d answers; want NXDOMAIN", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

func TestShortNameFromStackContainerTriesStackFirst(t *testing.T) {
	s, addr := start(t, Config{})
	s.Update([]api.NodeNetwork{stackNet()})
	for _, c := range []struct{ source, name, want string }{
		{"127.0.0.2", "db.", "10.7.0.5"},       // s1's db, from a container of s1
		{"127.0.0.2", "tasks.db.", "10.7.0.5"}, // tasks.db.s1
		{"127.0.0.2", "db-1.", "10.7.0.5"},     // db-1.s1
		{"127.0.0.2", "web.", "10.7.0.2"},      // not in s1: the plain name
		{"127.0.0.1", "db.", "10.7.0.9"},       // not in a stack: the service "db"
		{"127.0.0.1", "db.s1.", "10.7.0.5"},    // a stack-scoped name from anywhere
	} {
		got := addrs(query(t, "udp", addr, c.source, c.name, dns.TypeA))
		if !slices.Contains(got, c.want) {
			t.Errorf("%s from %s = %v; want %s among them", c.name, c.source, got, c.want)
		}
	}
}

func TestTableIsTheSourceNetworks(t *testing.T) {
	s, addr := start(t, Config{})
	loop := api.NodeNetwork{Name: "loop", Subnet: "127.0.0.0/30", Names: map[string][]string{"a": {"10.9.0.2"}}}
	other := api.NodeNetwork{Name: "other", Subnet: "10.8.0.0/16", Names: map[string][]string{"b": {"10.8.0.2"}}}
	s.Update([]api.NodeNetwork{loop, other})
	if got := addrs(query(t, "udp", addr, "127.0.0.1", "a.", dns.TypeA)); !sameSet(got, []string{"10.9.0.2"}) {
		t.Errorf("a from 127.0.0.1 (in loop's subnet) = %v; want 10.9.0.2", got)
	}
	if r := query(t, "udp", addr, "127.0.0.1", "b.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("b from 127.0.0.1 (other's name): rcode %s; want it forwarded (SERVFAIL: the upstream is dead)", dns.RcodeToString[r.Rcode])
	}
	if got := addrs(query(t, "udp", addr, "127.0.0.5", "b.", dns.TypeA)); !sameSet(got, []string{"10.8.0.2"}) {
		t.Errorf("b from 127.0.0.5 (in no subnet: every network) = %v; want 10.8.0.2", got)
	}
}

func TestUpdateIsVisibleAtOnce(t *testing.T) {
	s, addr := start(t, Config{})
	n := stackNet()
	s.Update([]api.NodeNetwork{n})
	n.Names = map[string][]string{"web": {"10.7.0.2", "10.7.0.3", "10.7.0.4", "10.7.0.6"}}
	s.Update([]api.NodeNetwork{n})
	if got := addrs(query(t, "udp", addr, "", "web.", dns.TypeA)); len(got) != 4 {
		t.Errorf("web after a scale-up = %v; want 4 addresses", got)
	}
	s.Update(nil)
	if r := query(t, "udp", addr, "", "web.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("web after its network went: rcode %s; want it forwarded (SERVFAIL)", dns.RcodeToString[r.Rcode])
	}
}

func TestOtherNamesAreForwarded(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch strings.ToLower(r.Question[0].Name) {
		case "example.com.":
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 1}})
		case "big.example.com.": // more than 512 bytes: truncated over UDP
			for i := range 60 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, byte(i)}})
			}
			if w.RemoteAddr().Network() == "udp" {
				m.Truncate(dns.MinMsgSize)
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	s, addr := start(t, Config{Upstreams: []string{deadUpstream(t), up}})
	s.Update([]api.NodeNetwork{stackNet()})
	if got := addrs(query(t, "udp", addr, "", "example.com.", dns.TypeA)); !sameSet(got, []string{"192.0.2.1"}) {
		t.Errorf("example.com = %v; want the upstream's 192.0.2.1 (the first upstream is dead: the second answers)", got)
	}
	if r := query(t, "udp", addr, "", "nope.example.com.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("nope.example.com: rcode %s; want the upstream's NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := query(t, "udp", addr, "", "big.example.com.", dns.TypeA); !r.Truncated {
		t.Errorf("big.example.com over UDP: %d answers, not truncated; want the truncated answer", len(r.Answer))
	}
	if got := addrs(query(t, "tcp", addr, "", "big.example.com.", dns.TypeA)); len(got) != 60 {
		t.Errorf("big.example.com over TCP: %d answers; want the 60 (asked again over TCP)", len(got))
	}
}

func TestDeadUpstreamIsServfail(t *testing.T) {
	_, addr := start(t, Config{Upstreams: []string{deadUpstream(t)}})
	t0 := time.Now()
	r := query(t, "udp", addr, "", "example.com.", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s; want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if d := time.Since(t0); d > 2*forwardTimeout {
		t.Errorf("SERVFAIL took %s; want at most %s", d, 2*forwardTimeout)
	}
}

func TestOwnAddressIsNotAnUpstream(t *testing.T) {
	self := deadUpstream(t) // free now: the server takes it below
	s := New(Config{Upstreams: []string{self}, Search: []string{}})
	t.Cleanup(s.Close)
	if err := s.Listen(netip.MustParseAddrPort(self)); err != nil {
		t.Fatal(err)
	}
	if !(*s.own.Load())[self] {
		t.Fatalf("own addresses %v; want %s among them", *s.own.Load(), self)
	}
	if r := query(t, "udp", self, "", "example.com.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s; want SERVFAIL at once (not a loop through itself)", dns.RcodeToString[r.Rcode])
	}
}

func TestTCP(t *testing.T) {
	s, addr := start(t, Config{})
	s.Update([]api.NodeNetwork{stackNet()})
	if got := addrs(query(t, "tcp", addr, "", "web.", dns.TypeA)); len(got) != 3 {
		t.Errorf("web over TCP = %v; want 3 addresses", got)
	}
}

func TestSearchDomainIsStripped(t *testing.T) {
	s, addr := start(t, Config{Search: []string{"corp.example."}})
	s.Update([]api.NodeNetwork{stackNet()})
	if got := addrs(query(t, "udp", addr, "", "web.corp.example.", dns.TypeA)); len(got) != 3 {
		t.Errorf("web.corp.example = %v; want web's 3 addresses", got)
	}
	if got := addrs(query(t, "udp", addr, "", "db.s1.corp.example.", dns.TypeA)); !sameSet(got, []string{"10.7.0.5"}) {
		t.Errorf("db.s1.corp.example = %v; want db.s1's", got)
	}
	if r := query(t, "udp", addr, "", "web.elsewhere.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("web.elsewhere: rcode %s; want it forwarded (not a search domain)", dns.RcodeToString[r.Rcode])
	}
}

func TestPTR(t *testing.T) {
	s, addr := start(t, Config{})
	s.Update([]api.NodeNetwork{stackNet()})
	r := query(t, "udp", addr, "", "3.0.7.10.in-addr.arpa.", dns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "web-2." {
		t.Errorf("PTR 10.7.0.3 = %v; want web-2.", r.Answer)
	}
}

func TestListen(t *testing.T) {
	s, addr := start(t, Config{})
	ap := netip.MustParseAddrPort("127.0.0.1:0")
	if err := s.Listen(ap); err != nil {
		t.Errorf("second Listen(%s): %v; want a no-op", ap, err)
	}
	// A second resolver on the same address and port (two agents of one
	// machine on a gateway address).
	other := New(Config{Upstreams: []string{deadUpstream(t)}, Search: []string{}})
	t.Cleanup(other.Close)
	if err := other.Listen(netip.MustParseAddrPort(addr)); err != nil {
		t.Errorf("a second Server on %s: %v; want it shared (SO_REUSEPORT)", addr, err)
	}
	bad := netip.MustParseAddrPort("192.0.2.77:53")
	if err := s.Listen(bad); err == nil || !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("Listen(%s) (not a local address) = %v; want an error naming it", bad, err)
	}
	if err := s.Listen(netip.MustParseAddrPort("0.0.0.0:0")); err == nil {
		t.Errorf("Listen(0.0.0.0:0): no error; want a wildcard refused")
	}
	s.Unlisten(ap)
	if _, ok := s.BoundAddr(ap); ok {
		t.Errorf("BoundAddr after Unlisten: still served")
	}
	s.Close()
	if err := s.Listen(ap); err == nil {
		t.Errorf("Listen after Close: no error")
	}
}

func TestIPv6(t *testing.T) {
	s := New(Config{Upstreams: []string{deadUpstream(t)}, Search: []string{}})
	t.Cleanup(s.Close)
	ap := netip.MustParseAddrPort("[::1]:0")
	if err := s.Listen(ap); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	s.Update([]api.NodeNetwork{stackNet()})
	bound, _ := s.BoundAddr(ap)
	for _, network := range []string{"udp", "tcp"} {
		if got := addrs(query(t, network, bound.String(), "", "web.", dns.TypeA)); len(got) != 3 {
			t.Errorf("web over %s on %s = %v; want 3 addresses", network, bound, got)
		}
	}
}

func TestReadResolvConf(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := writeFile(path, "# comment\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\nsearch a.example b.example\noptions ndots:5\n"); err != nil {
		t.Fatal(err)
	}
	rc, err := readResolvConf(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.2:53", "[fe80::1%eth0]:53"}; !slices.Equal(rc.servers, want) {
		t.Errorf("servers %v; want %v", rc.servers, want)
	}
	if want := []string{"a.example", "b.example"}; !slices.Equal(rc.search, want) {
		t.Errorf("search %v; want %v", rc.search, want)
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
