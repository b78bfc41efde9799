package main

// The -bare reference: net/http's own reverse proxy, as little around it
// as a proxy can have.

import (
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api"
)

type bareServer struct {
	srv  *http.Server
	addr net.Addr
}

func (s *bareServer) Close() { _ = s.srv.Close() }

// bufferPool lends the proxy its 32 KB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func serveBare(addr string, backends []api.Backend) (*bareServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := backends[next.Add(1)%uint64(len(backends))]
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", b.Address
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		BufferPool: &bufferPool{},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &bareServer{srv: srv, addr: ln.Addr()}, nil
}
