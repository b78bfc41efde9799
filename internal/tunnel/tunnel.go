// Package tunnel is the plumbing of an agent session, shared by both of its
// ends: the yamux settings the agent and the gateway must agree on, and an
// HTTP client whose every connection is a new stream of the session. It
// knows nothing of what the two sides say to each other.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/yamux"
)

// KeepAliveInterval is how often the agent's end of a session pings the
// gateway's (yamux keepalive): whatever else it sends, a live agent sends
// something at least this often.
const KeepAliveInterval = 15 * time.Second

// Config is the yamux configuration of the agent's end of a session:
// keepalives every KeepAliveInterval, yamux's own messages logged at debug
// level, and up to 64 streams opened and not yet accepted (yamux's default
// of 256 costs each session a 2 KB queue; a session opens a few streams at
// a time). A keepalive that gets no answer within yamux's write timeout
// (10 s) ends the session, and the agent dials again.
func Config(log *slog.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = nil
	c.Logger = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	c.KeepAliveInterval = KeepAliveInterval
	c.AcceptBacklog = 64
	return c
}

// ServerConfig is Config for the gateway's end: no keepalive of its own,
// which is a goroutine per session (one per node), so its connection
// should be wrapped in CloseWhenSilent instead. It still answers the
// agent's pings.
func ServerConfig(log *slog.Logger) *yamux.Config {
	c := Config(log)
	c.EnableKeepAlive = false
	return c
}

// ErrSilent is the error a CloseWhenSilent connection's read fails with.
var ErrSilent = errors.New("nothing received")

// CloseWhenSilent wraps the connection a yamux session runs over so that a
// read fails with ErrSilent once nothing has arrived for d: yamux's receive
// loop then ends the session. Each read sets the connection's read
// deadline, a timer of the runtime's netpoller (which every connection
// has anyway), so no goroutine waits for it; time spent outside a read
// (yamux handing a frame over) is not counted.
func CloseWhenSilent(c net.Conn, d time.Duration) net.Conn { return &silentConn{Conn: c, d: d} }

type silentConn struct {
	net.Conn
	d time.Duration
}

func (c *silentConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.d)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// Not a net.Error: nothing should take it for temporary.
		return n, fmt.Errorf("%w for %s", ErrSilent, c.d)
	}
	return n, err
}

// HTTPClient returns a client that opens a new stream of mux for each
// connection, keeping up to idle of them for reuse (0: none, every request
// has a stream of its own, closed after it). The request's host is
// ignored. A response must start within 30 s.
func HTTPClient(mux *yamux.Session, idle int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return mux.Open()
		},
		DisableKeepAlives:     idle == 0,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}}
}
