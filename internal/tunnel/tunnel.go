// Package tunnel is the plumbing of an agent session, shared by both of its
// ends: the yamux settings the agent and the gateway must agree on, and an
// HTTP client whose every connection is a new stream of the session. It
// knows nothing of what the two sides say to each other.
package tunnel

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/yamux"
)

// Config is the yamux configuration of both ends of a session: keepalives
// every 15 s, yamux's own messages logged at debug level, and up to 64
// streams opened and not yet accepted (yamux's default of 256 costs each
// session a 2 KB queue; a session opens a few streams at a time).
func Config(log *slog.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = nil
	c.Logger = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	c.KeepAliveInterval = 15 * time.Second
	c.AcceptBacklog = 64
	return c
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
