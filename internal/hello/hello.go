// Package hello is the workload Wharf can run without any image: a small
// HTTP server that answers with its container's name, its node and how many
// requests it has served, the way tutum/hello-world did for Docker Cloud's
// tutorials. It reads its identity from the variables every driver sets.
package hello

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Reply is what the server answers, as JSON with ?format=json.
type Reply struct {
	Container string `json:"container"`
	Service   string `json:"service"`
	Node      string `json:"node"`
	Hostname  string `json:"hostname"`
	Requests  int64  `json:"requests"`
	// Remote is the address the request came from; ForwardedFor and
	// Forwarded are the request's headers of those names (a router in
	// front says there who the client is).
	Remote       string `json:"remote"`
	ForwardedFor string `json:"forwarded_for,omitempty"`
	Forwarded    string `json:"forwarded,omitempty"`
	Proto        string `json:"proto"` // HTTP/1.1, HTTP/2.0
}

// Handler answers every request with a Reply.
func Handler() http.Handler {
	var count atomic.Int64
	host, _ := os.Hostname()
	base := Reply{
		Container: envOr("WHARF_CONTAINER_NAME", host),
		Service:   os.Getenv("WHARF_SERVICE"),
		Node:      envOr("WHARF_NODE", host),
		Hostname:  host,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := base
		rep.Requests = count.Add(1)
		rep.Remote, rep.Proto = r.RemoteAddr, r.Proto
		rep.ForwardedFor, rep.Forwarded = r.Header.Get("X-Forwarded-For"), r.Header.Get("Forwarded")
		if r.URL.Query().Get("format") == "json" || r.Header.Get("Accept") == "application/json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(rep)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello from %s on node %s (request %d)\n", rep.Container, rep.Node, rep.Requests)
	})
}

// Options configures Run.
type Options struct {
	Addr string // listen address, such as ":8080"
	// Say, if set, is printed on a line of its own once the server
	// listens: after it the server writes nothing, so it is the last line
	// of the output (tests look for it).
	Say string
}

// Serve listens on addr and serves until ctx ends.
func Serve(ctx context.Context, addr string) error {
	return Run(ctx, Options{Addr: addr})
}

// Run listens on o.Addr, says o.Say and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("hello: listen on %s: %w", o.Addr, err)
	}
	fmt.Printf("hello: serving %s on %s\n", envOr("WHARF_CONTAINER_NAME", "hello"), ln.Addr())
	if o.Say != "" {
		fmt.Println(o.Say)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
