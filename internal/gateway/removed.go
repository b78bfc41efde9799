package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/tunnel"
)

// removedLinger bounds how long the gateway keeps talking to the agent of a
// removed node.
const removedLinger = 15 * time.Second

// serveRemoved answers every request of an agent whose node no longer
// exists with 403 and code api.CodeNodeRemoved, then closes the connection
// once one answer went out or removedLinger passed.
func (g *Gateway) serveRemoved(ctx context.Context, conn net.Conn, node string) {
	defer conn.Close()
	// No keepalive: removedLinger bounds this session.
	mux, err := yamux.Server(conn, tunnel.ServerConfig(g.log))
	if err != nil {
		return
	}
	answered := make(chan struct{}, 1)
	msg := fmt.Sprintf("node %s has been removed from the cluster; delete the agent's data dir and join again with a new join token", node)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// 403 node_removed: agents of every version read this answer.
			w.Header().Set("Connection", "close")
			errhttp.Write(w, errdefs.New(errdefs.ErrNodeRemoved, msg))
			select {
			case answered <- struct{}{}:
			default:
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	go func() { _ = srv.Serve(mux) }()
	t := time.NewTimer(removedLinger)
	defer t.Stop()
	select {
	case <-answered:
		// Let the answer reach the agent before closing.
		select {
		case <-mux.CloseChan():
		case <-time.After(time.Second):
		}
	case <-mux.CloseChan():
	case <-t.C:
	case <-ctx.Done():
	}
	_ = srv.Close()
	_ = mux.Close()
}
