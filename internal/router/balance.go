package router

// Backends and balancing: the state kept per backend address across
// tables, a route's pool of backends, and the order in which a request or
// connection tries them.

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api"
)

const (
	// dialTimeout bounds one connection attempt to a backend.
	dialTimeout = 5 * time.Second
	// backendUserTimeout is how long data sent to a backend may stay
	// unacknowledged before its connection fails (setUserTimeout).
	backendUserTimeout = 3 * time.Second
	// refusedRetryFor is how long a request whose every backend refused
	// the connection keeps trying them (a container that was just
	// started may not listen yet), refusedRetryStep its first wait.
	refusedRetryFor  = 2 * time.Second
	refusedRetryStep = 50 * time.Millisecond
	// downFor is how long a backend that refused a connection is tried
	// only after the others (passive health).
	downFor = 5 * time.Second
	// idleSweepDelay is when a removed backend's idle connections are
	// closed again after a request on it ends.
	idleSweepDelay = 200 * time.Millisecond
)

// backend is what the router keeps of one backend address while any table
// names it: its keep-alive connections (the fast path's pool and the
// transport's), its load and its passive health.
type backend struct {
	addr      string
	transport *http.Transport
	active    atomic.Int64 // requests and connections in progress
	downUntil atomic.Int64 // unix nanoseconds; a dial failed before then
	removed   atomic.Bool  // no table names it any more
	conns     connPool     // the fast path's idle connections
}

func newBackend(addr string) *backend {
	b := &backend{addr: addr}
	b.transport = &http.Transport{
		DialContext:           b.dial,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return b
}

// dialError marks an error as a failure to connect: nothing of the request
// was sent, so another backend may be tried.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func isDialError(err error) bool {
	var d *dialError
	return errors.As(err, &d)
}

// deadError marks a backend connection that failed after a request was
// written and before any byte of the answer came, for a request that may
// be sent again (replayable, no body): its backend is taken as dead, and
// another one is tried.
type deadError struct{ err error }

func (e *deadError) Error() string { return "the backend stopped answering: " + e.err.Error() }
func (e *deadError) Unwrap() error { return e.err }

func isDeadError(err error) bool {
	var d *deadError
	return errors.As(err, &d)
}

// markDown has the backend tried only after the others for a while, and
// closes its idle connections (they are most likely dead too).
func (b *backend) markDown() {
	b.downUntil.Store(time.Now().Add(downFor).UnixNano())
	b.closeIdle()
}

// dial connects to the backend whatever address the caller names, and
// marks it down for a while when that fails.
func (b *backend) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: setUserTimeout}
	c, err := d.DialContext(ctx, network, b.addr)
	if err != nil {
		if ctx.Err() == nil {
			b.downUntil.Store(time.Now().Add(downFor).UnixNano())
		}
		return nil, &dialError{err}
	}
	b.downUntil.Store(0)
	return c, nil
}

func (b *backend) down(now int64) bool { return b.downUntil.Load() > now }

// release ends one request or connection on the backend; a backend no table
// names closes its connections as soon as they are idle. The transport
// takes a connection back into its idle pool in its own goroutine, maybe
// just after this, hence a second sweep a moment later.
func (b *backend) release() {
	b.active.Add(-1)
	if b.removed.Load() {
		b.closeIdle()
		time.AfterFunc(idleSweepDelay, b.transport.CloseIdleConnections)
	}
}

// member is one backend of a route.
type member struct {
	api.Backend
	b     *backend
	check *checkState // the route's active check of it; nil: none
}

func (m *member) ready() bool { return m.check == nil || m.check.ok.Load() }

// pool is a route's backends and how it balances them.
type pool struct {
	opts    api.RouteOptions
	members []*member // sorted by container, so that source hashing is stable
	rr      atomic.Uint64
}

func newPool(opts api.RouteOptions, members []*member) *pool {
	slices.SortFunc(members, func(a, b *member) int {
		if c := strings.Compare(a.Container, b.Container); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	return &pool{opts: opts, members: members}
}

// order is the backends to try for one request or connection, first choice
// first, each once: ready backends that are up (the choice among them made
// by the sticky cookie's value or the balance algorithm), then those
// passively down. Backends failing their active check are left out; nil
// means none is ready.
func (p *pool) order(client string, sticky string) []*member {
	now := time.Now().UnixNano()
	// One allocation (for up to 8 downs): the ups, then the downs.
	out := make([]*member, 0, len(p.members))
	var downBuf [8]*member
	down := downBuf[:0]
	for _, m := range p.members {
		switch {
		case !m.ready():
		case m.b.down(now):
			down = append(down, m)
		default:
			out = append(out, m)
		}
	}
	nUp := len(out)
	out = append(out, down...)
	if nUp == 0 {
		nUp = len(out) // all down: they are tried all the same
	}
	if nUp == 0 {
		return nil
	}
	up := out[:nUp]
	first := -1
	if sticky != "" {
		for i, m := range up {
			if m.Container == sticky {
				first = i
				break
			}
		}
	}
	if first < 0 {
		first = p.choose(up, client)
	}
	// Rotate the ups so that the first choice leads and the others follow
	// in the pool's order.
	slices.Reverse(up[:first])
	slices.Reverse(up[first:])
	slices.Reverse(up)
	return out
}

// choose picks the first backend among up by the route's algorithm.
func (p *pool) choose(up []*member, client string) int {
	switch p.opts.Balance {
	case api.BalanceSource:
		h := fnv.New32a()
		_, _ = h.Write([]byte(client))
		return int(h.Sum32() % uint32(len(up)))
	case api.BalanceLeastConn:
		start := int(p.rr.Add(1) % uint64(len(up)))
		best := start
		for i := range up {
			j := (start + i) % len(up)
			if up[j].b.active.Load() < up[best].b.active.Load() {
				best = j
			}
		}
		return best
	default:
		return int((p.rr.Add(1) - 1) % uint64(len(up)))
	}
}

// clientIP is the address part of a "host:port" remote address.
func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
