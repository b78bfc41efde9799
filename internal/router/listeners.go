package router

// The listeners: opened and closed by diff on each Apply, so that those a
// new table still wants are never touched.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// httpListener is the HTTP or HTTPS listener and its server.
type httpListener struct {
	srv     *http.Server
	ln      net.Listener
	addr    net.Addr
	closing atomic.Bool   // the listener is being closed: Serve's error is expected
	done    chan struct{} // closed when Serve has returned
}

// stopAccepting closes the listening socket at once, so that the port is
// free for a listener opened right after.
func (l *httpListener) stopAccepting() {
	l.closing.Store(true)
	_ = l.ln.Close()
}

// shutdown stops accepting and waits for requests in flight until ctx is
// done, then closes what is left.
func (l *httpListener) shutdown(ctx context.Context) {
	l.closing.Store(true)
	if err := l.srv.Shutdown(ctx); err != nil {
		_ = l.srv.Close()
	}
	<-l.done
}

// syncListeners opens the listeners the table wants and closes the others.
// Called with r.mu held.
func (r *Router) syncListeners(c *compiled) []error {
	var errs []error
	if c.router {
		if r.httpL == nil && r.cfg.HTTPAddr != "" {
			l, err := r.listenHTTP(r.cfg.HTTPAddr, false)
			if err != nil {
				errs = append(errs, err)
			}
			r.httpL = l
		}
		if r.httpsL == nil && r.cfg.HTTPSAddr != "" {
			l, err := r.listenHTTP(r.cfg.HTTPSAddr, true)
			if err != nil {
				errs = append(errs, err)
			}
			r.httpsL = l
		}
	} else {
		for _, l := range []*httpListener{r.httpL, r.httpsL} {
			if l != nil {
				l.stopAccepting()
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), r.grace)
					defer cancel()
					l.shutdown(ctx)
				}()
			}
		}
		r.httpL, r.httpsL = nil, nil
	}
	for port, tl := range r.tcpL {
		if !c.router || c.tcp[port] == nil {
			// Its connections are left to finish.
			_ = tl.ln.Close()
			<-tl.done
			delete(r.tcpL, port)
		}
	}
	if c.router {
		for port := range c.tcp {
			if r.tcpL[port] != nil {
				continue
			}
			tl, err := r.listenTCP(port)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r.tcpL[port] = tl
		}
	}
	a := &boundAddrs{tcp: map[int]net.Addr{}}
	if r.httpL != nil {
		a.http = r.httpL.addr
	}
	if r.httpsL != nil {
		a.https = r.httpsL.addr
	}
	for port, tl := range r.tcpL {
		a.tcp[port] = tl.ln.Addr()
	}
	r.addrs.Store(a)
	return errs
}

func (r *Router) listenHTTP(addr string, secure bool) (*httpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		what := "HTTP"
		if secure {
			what = "HTTPS"
		}
		return nil, fmt.Errorf("router: listen for %s on %s: %w; free the port or change the router's address", what, addr, err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slogErrorLog(r.log),
		Protocols:         &p,
		// Upgraded (hijacked) connections are no longer the server's to
		// wait for on shutdown: the router tracks them until their request
		// ends.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateHijacked {
				r.conns.add(c)
			}
		},
	}
	if secure {
		p.SetHTTP2(true)
		srv.Handler = r.handler(true)
		srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: r.getCertificate,
			NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
		}
	} else {
		p.SetUnencryptedHTTP2(true)
		plain := r.handler(false)
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if a := r.acme.Load(); a != nil {
				a.http.ServeHTTP(w, req)
				return
			}
			plain.ServeHTTP(w, req)
		})
	}
	l := &httpListener{srv: srv, ln: ln, addr: ln.Addr(), done: make(chan struct{})}
	wrapped := acceptProxyProtocol(ln, r.cfg.TrustedProxies)
	go func() {
		defer close(l.done)
		var err error
		if secure {
			err = srv.ServeTLS(wrapped, "", "")
		} else {
			err = srv.Serve(wrapped)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !l.closing.Load() {
			r.log.Error("router: listener stopped", "addr", l.addr.String(), "err", err)
		}
	}()
	return l, nil
}

func (r *Router) listenTCP(port int) (*tcpListener, error) {
	addr := net.JoinHostPort(r.cfg.TCPHost, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("router: listen for tcp route on %s: %w; free the port or change the route's listen port", addr, err)
	}
	tl := &tcpListener{port: port, ln: acceptProxyProtocol(ln, r.cfg.TrustedProxies), done: make(chan struct{})}
	go r.serveTCP(tl)
	return tl, nil
}

// connKey is the context key of a request's client connection.
type connKey struct{}

// slogErrorLog routes net/http's own messages (TLS handshake errors and
// the like) to the logger at debug level.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelDebug)
}
