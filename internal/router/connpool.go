package router

// The fast path's backend connections: a small LIFO pool of persistent
// HTTP/1.1 connections per backend address, each with its buffered reader
// and writer, closed after idleTimeout or when no table names the backend.

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

const (
	// maxIdlePerBackend bounds the idle connections kept per backend; more
	// than a busy router has clients, so that none is dialed again.
	maxIdlePerBackend = 512
	// idleTimeout is how long an idle backend connection is kept.
	idleTimeout = 90 * time.Second
	// connBufSize is the size of a backend connection's read and write
	// buffers.
	connBufSize = 4 << 10
)

// connPool is one backend's idle connections; the most recently used is
// taken first.
type connPool struct {
	mu    sync.Mutex
	idle  []*pconn // oldest first
	sweep *time.Timer
}

// pconn is one persistent connection to a backend.
type pconn struct {
	c         net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	read      int64 // bytes read since the current request was sent
	idleSince time.Time
	stop      func() bool // ends the current request's context watch
}

// Read counts the bytes read, so that a failure can tell whether the
// backend answered anything.
func (pc *pconn) Read(p []byte) (int, error) {
	n, err := pc.c.Read(p)
	pc.read += int64(n)
	return n, err
}

// watch breaks off reads and writes on the connection when ctx ends (the
// client went away).
func (pc *pconn) watch(ctx context.Context) {
	pc.stop = context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
}

// unwatch ends the watch; false means it fired, and the connection is
// broken.
func (pc *pconn) unwatch() bool {
	if pc.stop == nil {
		return true
	}
	ok := pc.stop()
	pc.stop = nil
	return ok
}

func (pc *pconn) close() {
	pc.unwatch()
	_ = pc.c.Close()
}

// getConn is an idle connection to the backend (reused true) or a new one;
// a failure to connect is a *dialError.
func (b *backend) getConn(ctx context.Context) (pc *pconn, reused bool, err error) {
	now := time.Now()
	p := &b.conns
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		pc = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if now.Sub(pc.idleSince) < idleTimeout {
			p.mu.Unlock()
			return pc, true, nil
		}
		_ = pc.c.Close()
	}
	p.mu.Unlock()
	pc, err = b.dialConn(ctx)
	return pc, false, err
}

// dialConn opens a new connection to the backend.
func (b *backend) dialConn(ctx context.Context) (*pconn, error) {
	c, err := b.dial(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	pc := &pconn{c: c, bw: bufio.NewWriterSize(c, connBufSize)}
	pc.br = bufio.NewReaderSize(pc, connBufSize)
	return pc, nil
}

// putConn takes back a connection whose last exchange ended cleanly.
func (b *backend) putConn(pc *pconn) {
	pc.idleSince = time.Now()
	p := &b.conns
	p.mu.Lock()
	// removed is read under the lock: closeIdle, which follows its
	// setting, then either sees this connection or was before it.
	if b.removed.Load() || len(p.idle) >= maxIdlePerBackend {
		p.mu.Unlock()
		_ = pc.c.Close()
		return
	}
	p.idle = append(p.idle, pc)
	if p.sweep == nil {
		p.sweep = time.AfterFunc(idleTimeout, b.sweepIdle)
	}
	p.mu.Unlock()
}

// sweepIdle closes the connections idle for longer than idleTimeout and
// comes back while any is left.
func (b *backend) sweepIdle() {
	p := &b.conns
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	keep := 0
	for keep < len(p.idle) && now.Sub(p.idle[keep].idleSince) >= idleTimeout {
		_ = p.idle[keep].c.Close()
		keep++
	}
	n := copy(p.idle, p.idle[keep:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	if len(p.idle) == 0 {
		p.sweep = nil
		return
	}
	p.sweep.Reset(idleTimeout - now.Sub(p.idle[0].idleSince))
}

// closeIdle closes the backend's idle connections, the fast path's and
// the transport's.
func (b *backend) closeIdle() {
	p := &b.conns
	p.mu.Lock()
	for i, pc := range p.idle {
		_ = pc.c.Close()
		p.idle[i] = nil
	}
	p.idle = p.idle[:0]
	p.mu.Unlock()
	b.transport.CloseIdleConnections()
}

// idleConns is how many idle fast-path connections the backend has.
func (b *backend) idleConns() int {
	p := &b.conns
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
