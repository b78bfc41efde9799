package netdns

import (
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// serve answers r on w: from the tables for a name of ours, from an
// upstream for any other.
func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	if r == nil || r.Response || r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		m := new(dns.Msg)
		if r != nil && !r.Response {
			m.SetRcode(r, dns.RcodeNotImplemented)
			if len(r.Question) != 1 {
				m.Rcode = dns.RcodeFormatError
			}
			s.write(w, r, m)
		}
		return
	}
	q := r.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		s.forward(w, r)
		return
	}
	src := sourceOf(w)
	ts := s.tables.Load()
	name := normalize(q.Name)
	if q.Qtype == dns.TypePTR {
		if target, ok := ts.reverse[name]; ok {
			m := reply(r)
			m.Answer = []dns.RR{&dns.PTR{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 0},
				Ptr: dns.Fqdn(target),
			}}
			s.write(w, r, m)
			return
		}
		s.forward(w, r)
		return
	}
	ips, ok := ts.lookup(name, src, s.search)
	if !ok {
		s.forward(w, r)
		return
	}
	m := reply(r)
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
	s.write(w, r, m)
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

// write sends m, cut to what the client can take over UDP.
func (s *Server) write(w dns.ResponseWriter, r, m *dns.Msg) {
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil && int(o.UDPSize()) > size {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("netdns: cannot send an answer", "to", w.RemoteAddr(), "err", err)
	}
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
