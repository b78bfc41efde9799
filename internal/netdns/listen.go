package netdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// listener is the UDP and TCP servers of one listen address.
type listener struct {
	bound netip.AddrPort  // the address actually bound (its port when asked for 0)
	udp   []*net.UDPConn  // one socket per reader (SO_REUSEPORT spreads clients over them)
	done  []chan struct{} // closed when the reader of udp[i] returns
	tcp   *dns.Server
}

// udpReaders is how many UDP sockets each address gets: each has one
// reader, so one socket per processor (up to 4) lets every core take
// queries.
func udpReaders() int {
	return max(1, min(runtime.GOMAXPROCS(0), 4))
}

// startTimeout bounds the wait for a server's goroutine to start serving.
const startTimeout = 5 * time.Second

// Listen answers queries on addr over UDP and TCP. Listening again on an
// address already served does nothing. The sockets are opened with
// SO_REUSEADDR and SO_REUSEPORT, so that several agents of one machine
// (wharf up) can all serve a network's gateway address; the kernel then
// spreads clients over them, so they must all hold the same names. With
// port 0 both sockets get the same free port, which BoundAddr reports.
// addr must be a specific address, not 0.0.0.0 or ::.
func (s *Server) Listen(addr netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("netdns: cannot listen on %s: the resolver is closed", addr)
	}
	if _, ok := s.listeners[addr]; ok {
		return nil
	}
	if !addr.Addr().IsValid() || addr.Addr().IsUnspecified() {
		// Answers leave from the socket's address: on a wildcard socket the
		// kernel might pick another, which clients reject.
		return fmt.Errorf("netdns: cannot listen on %q: give a specific address (the network's gateway), not a wildcard", addr)
	}
	lc := net.ListenConfig{Control: reuse}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	pcs, ln, bound, err := bindSockets(ctx, lc, addr)
	for try := 1; err != nil && addr.Port() == 0 && errors.Is(err, syscall.EADDRINUSE) && try < maxBindTries; try++ {
		// The free UDP port the kernel chose is some TCP socket's (an
		// outgoing connection's, maybe): take another.
		pcs, ln, bound, err = bindSockets(ctx, lc, addr)
	}
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}
	l := &listener{
		bound: bound,
		tcp:   &dns.Server{Listener: ln, Handler: s, ReadTimeout: forwardTimeout, WriteTimeout: forwardTimeout},
	}
	for _, pc := range pcs {
		l.udp = append(l.udp, pc.(*net.UDPConn))
	}
	if err := s.start(ctx, l.tcp); err != nil {
		closeAll()
		ln.Close()
		return fmt.Errorf("netdns: cannot serve DNS on %s: %w", addr, err)
	}
	for _, c := range l.udp {
		done := make(chan struct{})
		l.done = append(l.done, done)
		go s.serveUDP(c, done)
	}
	s.listeners[addr] = l
	s.publishOwn()
	return nil
}

// maxBindTries bounds how often Listen on port 0 takes another port when
// the one the kernel gave the UDP sockets is taken for TCP.
const maxBindTries = 8

// bindSockets opens the UDP sockets (udpReaders of them, SO_REUSEPORT) and
// the TCP listener of addr, all on one port: addr's, or the one the first
// UDP socket got for port 0. On error nothing stays open.
func bindSockets(ctx context.Context, lc net.ListenConfig, addr netip.AddrPort) ([]net.PacketConn, net.Listener, netip.AddrPort, error) {
	pc, err := lc.ListenPacket(ctx, "udp", addr.String())
	if err != nil {
		return nil, nil, addr, listenError(addr, "udp", err)
	}
	bound := addr
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok && addr.Port() == 0 {
		bound = netip.AddrPortFrom(addr.Addr(), uint16(ua.Port))
	}
	pcs := []net.PacketConn{pc}
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}
	for len(pcs) < udpReaders() {
		more, err := lc.ListenPacket(ctx, "udp", bound.String())
		if err != nil {
			closeAll()
			return nil, nil, addr, listenError(addr, "udp", err)
		}
		pcs = append(pcs, more)
	}
	ln, err := lc.Listen(ctx, "tcp", bound.String())
	if err != nil {
		closeAll()
		return nil, nil, addr, listenError(addr, "tcp", err)
	}
	return pcs, ln, bound, nil
}

func listenError(addr netip.AddrPort, network string, err error) error {
	hint := "is the address on one of this node's interfaces (the network's bridge)?"
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = "another program holds the port without SO_REUSEPORT (a local resolver such as dnsmasq or systemd-resolved?)"
	} else if errors.Is(err, syscall.EACCES) {
		hint = "binding a port below 1024 needs root or CAP_NET_BIND_SERVICE"
	}
	return fmt.Errorf("netdns: cannot listen on %s (%s): %w; %s", addr, network, err, hint)
}

// reuse sets SO_REUSEADDR and SO_REUSEPORT on a socket before it binds.
func reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// start runs srv and waits until it serves (or fails, or ctx ends).
func (s *Server) start(ctx context.Context, srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown stops the servers, closes their sockets and waits (a bounded
// time) for the UDP readers to return.
func (l *listener) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	_ = l.tcp.ShutdownContext(ctx)
	l.tcp.Listener.Close()
	for _, c := range l.udp {
		c.Close()
	}
	for _, done := range l.done {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}

// Unlisten stops answering on addr (as given to Listen).
func (s *Server) Unlisten(addr netip.AddrPort) {
	s.mu.Lock()
	l, ok := s.listeners[addr]
	delete(s.listeners, addr)
	s.publishOwn()
	s.mu.Unlock()
	if ok {
		l.shutdown()
	}
}

// BoundAddr is the address a Listen(addr) serves: addr with the port
// chosen when addr's was 0; false when addr is not served.
func (s *Server) BoundAddr(addr netip.AddrPort) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.listeners[addr]
	if !ok {
		return netip.AddrPort{}, false
	}
	return l.bound, true
}

// Close stops every listener; Listen fails afterwards.
func (s *Server) Close() {
	s.mu.Lock()
	ls := s.listeners
	s.listeners = map[netip.AddrPort]*listener{}
	s.closed = true
	s.publishOwn()
	s.mu.Unlock()
	for _, l := range ls {
		l.shutdown()
	}
}

// publishOwn stores the set of bound addresses for forward (s.mu held).
func (s *Server) publishOwn() {
	own := make(map[string]bool, len(s.listeners))
	for _, l := range s.listeners {
		own[l.bound.String()] = true
	}
	s.own.Store(&own)
}
