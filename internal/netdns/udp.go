package netdns

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// UDP is served by a loop of our own rather than by dns.Server: it reads
// and writes batches of datagrams (recvmmsg and sendmmsg), answers names
// of ours in the loop itself, and starts a goroutine only for a query to
// forward. Under load this costs a fraction of a system call and no
// goroutine per query (dns.Server makes one of each per query).

const (
	// udpBatch is how many datagrams one system call reads or writes.
	udpBatch = 32
	// udpBufSize bounds a query: anything longer is not a DNS query.
	udpBufSize = 4096
	// maxForwards bounds the forwarded queries in flight from UDP; past
	// it a query gets SERVFAIL at once.
	maxForwards = 1024
)

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// serveUDP answers the queries of conn until it is closed, then closes
// done.
func (s *Server) serveUDP(conn *net.UDPConn, done chan<- struct{}) {
	defer close(done)
	var bc batchConn = ipv4.NewPacketConn(conn)
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		bc = ipv6.NewPacketConn(conn)
	}
	in, out := make([]ipv4.Message, udpBatch), make([]ipv4.Message, 0, udpBatch)
	outBufs := make([][]byte, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpBufSize)}
		outBufs[i] = make([]byte, udpBufSize)
	}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("netdns: cannot read queries", "addr", conn.LocalAddr(), "err", err)
			time.Sleep(10 * time.Millisecond) // not a busy loop on an error that stays
			continue
		}
		out = out[:0]
		for i := range in[:n] {
			src, ok := in[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			b, fwd := s.handlePacket(in[i].Buffers[0][:in[i].N], src.AddrPort(), outBufs[len(out)])
			if fwd != nil {
				s.forwardUDP(conn, fwd, src.AddrPort())
				continue
			}
			if b != nil {
				out = append(out, ipv4.Message{Buffers: [][]byte{b}, Addr: src})
			}
		}
		for sent := 0; sent < len(out); {
			k, err := bc.WriteBatch(out[sent:], 0)
			if err != nil {
				s.log.Debug("netdns: cannot send answers", "addr", conn.LocalAddr(), "err", err)
				break
			}
			sent += k
		}
	}
}

// handlePacket answers the datagram b from src: the packed answer (in buf
// when it fits) or the query to forward; neither for a datagram that is
// not a query.
func (s *Server) handlePacket(b []byte, src netip.AddrPort, buf []byte) (answer []byte, fwd *dns.Msg) {
	r := new(dns.Msg)
	if err := r.Unpack(b); err != nil {
		return nil, nil // not DNS: no answer (any answer could amplify an attack)
	}
	m, forward := s.answer(r, src.Addr().Unmap())
	if forward {
		return nil, r
	}
	if m == nil {
		return nil, nil
	}
	return s.pack(r, m, buf), nil
}

// pack is m cut to what r's sender takes over UDP, packed into buf when it
// fits; nil when it does not pack.
func (s *Server) pack(r, m *dns.Msg, buf []byte) []byte {
	m.Truncate(udpSize(r))
	out, err := m.PackBuffer(buf)
	if err != nil {
		s.log.Debug("netdns: cannot pack an answer", "name", r.Question, "err", err)
		return nil
	}
	return out
}

// forwardUDP forwards r in a goroutine of its own and sends the answer to
// src; SERVFAIL at once when too many are in flight.
func (s *Server) forwardUDP(conn *net.UDPConn, r *dns.Msg, src netip.AddrPort) {
	select {
	case s.forwards <- struct{}{}:
	default:
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		s.sendUDP(conn, r, m, src)
		return
	}
	go func() {
		defer func() { <-s.forwards }()
		s.sendUDP(conn, r, s.forward(r, false), src)
	}()
}

func (s *Server) sendUDP(conn *net.UDPConn, r, m *dns.Msg, dst netip.AddrPort) {
	b := s.pack(r, m, nil)
	if b == nil {
		return
	}
	if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
		s.log.Debug("netdns: cannot send an answer", "to", dst, "err", err)
	}
}
