package router

// TCP routes: one listener per port; each connection goes to a backend
// chosen as for HTTP (another one when it refuses), optionally behind a
// PROXY header, and bytes are copied both ways with half-close.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpListener is one tcp route port's listener.
type tcpListener struct {
	port int
	ln   net.Listener
	done chan struct{} // closed when its accept loop has returned
}

// serveTCP accepts until the listener is closed. Each connection takes the
// route that the current table has for the port when it is accepted.
func (r *Router) serveTCP(tl *tcpListener) {
	defer close(tl.done)
	for {
		c, err := tl.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		rt := r.table.Load().tcp[tl.port]
		r.conns.add(c)
		go func() {
			defer r.conns.remove(c)
			r.proxyTCP(c, tl.port, rt)
		}()
	}
}

func (r *Router) proxyTCP(c net.Conn, port int, rt *tcpRoute) {
	start := time.Now()
	defer c.Close()
	e := tcpEntry{Kind: "tcp", Client: c.RemoteAddr().String(), Listen: port}
	defer func() {
		if r.access != nil {
			e.Time = time.Now().UTC()
			e.DurationMS = millis(time.Since(start))
			r.access.write(e)
		}
	}()
	if rt == nil {
		e.Error = "no route for this port"
		return
	}
	e.Route = rt.label
	rt.m.tcpOpen()
	var in, out atomic.Int64
	defer func() { rt.m.tcpClose(in.Load(), out.Load()) }()

	order := rt.pool.order(clientIP(c.RemoteAddr().String()), "")
	if len(order) == 0 {
		e.Error = "no ready backend"
		return
	}
	var bc net.Conn
	var m *member
	for i, cand := range order {
		if i > 0 {
			rt.m.retry()
		}
		conn, err := cand.b.dial(context.Background(), "tcp", "")
		if err != nil {
			rt.m.connectError()
			e.Error = err.Error()
			continue
		}
		bc, m = conn, cand
		break
	}
	if bc == nil {
		return
	}
	e.Error = ""
	e.Backend = m.Address
	m.b.active.Add(1)
	defer m.b.release()
	defer bc.Close()
	r.conns.add(bc)
	defer r.conns.remove(bc)
	if rt.ProxyProtocol != "" {
		if err := writeProxyHeader(bc, rt.ProxyProtocol, c.RemoteAddr(), c.LocalAddr()); err != nil {
			e.Error = "PROXY header: " + err.Error()
			return
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		n, _ := io.Copy(bc, c)
		in.Store(n)
		if !closeWrite(bc) {
			bc.Close()
		}
	}()
	go func() {
		defer wg.Done()
		n, _ := io.Copy(c, bc)
		out.Store(n)
		if !closeWrite(c) {
			c.Close()
		}
	}()
	wg.Wait()
	e.BytesIn, e.BytesOut = in.Load(), out.Load()
}

// connSet is every connection the router proxies outside an http.Server's
// care (TCP routes, upgraded HTTP connections), so that Close can end them
// after the grace period.
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (s *connSet) add(c net.Conn) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[net.Conn]struct{}{}
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

func (s *connSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// wait waits for every connection to end, closing those still open when
// ctx is done.
func (s *connSet) wait(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.len() > 0 {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.m {
				_ = c.Close()
			}
			clear(s.m)
			s.mu.Unlock()
			return
		case <-t.C:
		}
	}
}
