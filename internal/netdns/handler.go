package netdns

import (
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// ServeDNS answers one query; it implements dns.Handler (the TCP
// listener's, and any other server's the agent may run it under).
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m, fwd := s.answer(r, sourceOf(w))
	if fwd {
		_, tcp := w.RemoteAddr().(*net.TCPAddr)
		m = s.forward(r, tcp)
	}
	if m == nil {
		return
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(udpSize(r))
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("netdns: cannot send an answer", "to", w.RemoteAddr(), "err", err)
	}
}

// answer is the reply to r, a query from src, from the tables; fwd is
// true when r is for a name that is not ours (to forward), and m is nil
// then or when r is not to be answered at all (it is itself an answer).
func (s *Server) answer(r *dns.Msg, src netip.Addr) (m *dns.Msg, fwd bool) {
	if r == nil || r.Response {
		return nil, false
	}
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		m = new(dns.Msg)
		m.SetRcode(r, dns.RcodeNotImplemented)
		if len(r.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
		}
		return m, false
	}
	q := r.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return nil, true
	}
	ts := s.tables.Load()
	name := normalize(q.Name)
	if q.Qtype == dns.TypePTR {
		target, ok := ts.reverse[name]
		if !ok {
			return nil, true
		}
		m = reply(r)
		m.Answer = []dns.RR{&dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 0},
			Ptr: dns.Fqdn(target),
		}}
		return m, false
	}
	ips, ok := ts.lookup(name, src, s.search)
	if !ok {
		return nil, true
	}
	m = reply(r)
	switch {
	case len(ips) == 0:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY:
		rrs := make([]dns.RR, len(ips))
		as := make([]dns.A, len(ips))
		for i, ip := range ips {
			as[i] = dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: ip}
			rrs[i] = &as[i]
		}
		rand.Shuffle(len(rrs), func(i, j int) { rrs[i], rrs[j] = rrs[j], rrs[i] })
		m.Answer = rrs
	}
	return m, false
}

// ednsSize is the UDP payload size answers advertise (DNS flag day 2020's).
const ednsSize = 1232

// reply is the start of an authoritative answer to r.
func reply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	if o := r.IsEdns0(); o != nil {
		m.SetEdns0(ednsSize, false)
	}
	return m
}

// udpSize is the largest answer r's sender takes over UDP.
func udpSize(r *dns.Msg) int {
	if o := r.IsEdns0(); o != nil && int(o.UDPSize()) > dns.MinMsgSize {
		return int(o.UDPSize())
	}
	return dns.MinMsgSize
}

// sourceOf is the query's source address (invalid when unknown).
func sourceOf(w dns.ResponseWriter) netip.Addr {
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	default:
		return netip.Addr{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
