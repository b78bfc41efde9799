package router

// HTTP requests: finding the route, answering 404/503/308 itself, and
// proxying: on the fast path (fastpath.go) or, for upgrades and the unusual,
// through httputil.ReverseProxy with a RoundTripper that tries the
// route's backends in order, moving on only when a connection could not be
// made.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reqState is what one request carries through the ReverseProxy (in its
// context): its route, the backends to try, and the one that answered.
type reqState struct {
	route   *httpRoute
	order   []*member
	sticky  string  // the cookie's value as the client sent it
	served  *member // the backend that answered, or the last one tried
	dialErr bool    // every backend tried refused the connection
	status  int     // the backend's status (101 is never written by the recorder)
	errText string
}

type reqStateKey struct{}

// newReverseProxy makes the router's one ReverseProxy; everything that
// differs per request is in its reqState.
func (r *Router) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:   rewrite,
		Transport: roundTripper{r},
		// FlushInterval 0: streamed responses (no length, event streams)
		// are still flushed at once by the ReverseProxy.
		ModifyResponse: modifyResponse,
		BufferPool:     bufferPool{},
		ErrorHandler:   r.proxyError,
		ErrorLog:       slogErrorLog(r.log),
	}
}

// rewrite sets the forwarding headers; the backend's address is filled in
// by the RoundTripper, attempt by attempt.
func rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "backend"
	pr.Out.Host = pr.In.Host
	if prior, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	proto := "http"
	if pr.In.TLS != nil {
		proto = "https"
	}
	fwd := "for=" + forwardedNode(pr.In.RemoteAddr) + ";host=" + forwardedValue(pr.In.Host) + ";proto=" + proto
	if prior := pr.In.Header.Values("Forwarded"); len(prior) > 0 {
		fwd = strings.Join(prior, ", ") + ", " + fwd
	}
	pr.Out.Header.Set("Forwarded", fwd)
}

// forwardedNode is RFC 7239's node for a client address: an IPv4 address
// as it is, an IPv6 one quoted in brackets.
func forwardedNode(remote string) string {
	ip := clientIP(remote)
	if strings.Contains(ip, ":") {
		return `"[` + ip + `]"`
	}
	if ip == "" {
		return "unknown"
	}
	return ip
}

// forwardedValue quotes a value unless it is a plain token.
func forwardedValue(v string) string {
	for _, c := range v {
		if !(c == '-' || c == '.' || c == '_' || c == '~' || c == '!' || c == '*' || c == '+' ||
			c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return strconv.Quote(v)
		}
	}
	return v
}

// modifyResponse notes the backend's status and sets the sticky cookie.
func modifyResponse(res *http.Response) error {
	rs, _ := res.Request.Context().Value(reqStateKey{}).(*reqState)
	if rs != nil {
		rs.status = res.StatusCode
		setStickyCookie(rs, res.Header)
	}
	return nil
}

// setStickyCookie sets the sticky cookie in a response's header when the
// route has one and the client's does not name the backend that answered.
func setStickyCookie(rs *reqState, h http.Header) {
	if rs.route.Cookie == "" || rs.served == nil || rs.served.Container == rs.sticky {
		return
	}
	c := &http.Cookie{Name: rs.route.Cookie, Value: rs.served.Container, Path: "/", HttpOnly: true}
	if rs.route.TLS {
		c.Secure = true
	}
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

// proxyError answers a request that no backend answered: 503 when none
// could be reached, 502 when one failed after the connection was made.
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	rs, _ := req.Context().Value(reqStateKey{}).(*reqState)
	r.answerError(w, req, rs, err)
}

// answerError is proxyError for a request whose state is at hand.
func (r *Router) answerError(w http.ResponseWriter, req *http.Request, rs *reqState, err error) {
	if rs != nil {
		rs.errText = err.Error()
	}
	if errors.Is(err, context.Canceled) && req.Context().Err() != nil {
		w.WriteHeader(499) // the client went away; nobody reads this
		return
	}
	if rs != nil && rs.dialErr {
		http.Error(w, "no backend of "+rs.route.Name+" can be reached", http.StatusServiceUnavailable)
		return
	}
	r.log.Debug("router: backend failed", "err", err)
	http.Error(w, "bad gateway", http.StatusBadGateway)
}

// roundTripper tries a request's backends in their order, moving on only
// after a failure to connect (the request was not sent), each backend once.
type roundTripper struct{ r *Router }

func (t roundTripper) RoundTrip(out *http.Request) (*http.Response, error) {
	rs, _ := out.Context().Value(reqStateKey{}).(*reqState)
	if rs == nil {
		return nil, errors.New("router: request without route state")
	}
	var body *onceBody
	if out.Body != nil && out.Body != http.NoBody {
		body = &onceBody{rc: out.Body}
	}
	var lastErr error
	for i, m := range rs.order {
		attempt := out
		if i > 0 {
			attempt = out.Clone(out.Context())
			rs.route.m.retry()
		}
		attempt.URL.Host = m.Address
		if body != nil {
			attempt.Body = body
		}
		m.b.active.Add(1)
		rs.served = m
		res, err := m.b.transport.RoundTrip(attempt)
		if err == nil {
			rs.dialErr = false
			res.Body = &releaseBody{ReadCloser: res.Body, b: m.b}
			return res, nil
		}
		m.b.release()
		lastErr = err
		if !isDialError(err) || (body != nil && body.read.Load()) || out.Context().Err() != nil {
			rs.dialErr = false
			return nil, err
		}
		rs.dialErr = true
		rs.route.m.connectError()
		t.r.log.Debug("router: backend refused connection", "route", rs.route.label, "backend", m.Address, "err", err)
	}
	if lastErr == nil {
		lastErr = errors.New("router: no backend")
	}
	return nil, lastErr
}

// onceBody lets a request body be offered to several attempts: closing it
// does nothing (the ReverseProxy closes the real one), and it remembers
// whether any byte was read, after which no other backend may be tried.
type onceBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *onceBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *onceBody) Close() error { return nil }

// releaseBody ends the request's hold on its backend when the response body
// is closed (for an upgraded connection, when the connection ends).
type releaseBody struct {
	io.ReadCloser
	b    *backend
	done atomic.Bool
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	if b.done.CompareAndSwap(false, true) {
		b.b.release()
	}
	return err
}

// Write lets a 101 Switching Protocols body (the backend's connection) be
// written to, as the ReverseProxy expects of it.
func (b *releaseBody) Write(p []byte) (int, error) {
	if w, ok := b.ReadCloser.(io.Writer); ok {
		return w.Write(p)
	}
	return 0, errors.New("router: response body is not writable")
}

// handler serves one listener: the HTTP one (secure false) or the HTTPS one.
func (r *Router) handler(secure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serve(w, req, secure)
	})
}

func (r *Router) serve(w http.ResponseWriter, req *http.Request, secure bool) {
	start := time.Now()
	t := r.table.Load()
	host := normalizeHost(req.Host)
	routes := &t.plain
	if secure {
		routes = &t.secure
	}
	rt := routes.match(host, req.URL.Path)
	rec := &recorder{ResponseWriter: w}
	var rs *reqState
	switch {
	case rt == nil:
		http.Error(rec, fmt.Sprintf("no route for host %q", host), http.StatusNotFound)
	case rt.redirect:
		http.Redirect(rec, req, r.httpsURL(req), http.StatusPermanentRedirect)
	default:
		rs = &reqState{route: rt}
		if rt.Cookie != "" {
			if c, err := req.Cookie(rt.Cookie); err == nil {
				rs.sticky = c.Value
			}
		}
		rs.order = rt.pool.order(clientIP(req.RemoteAddr), rs.sticky)
		if len(rs.order) == 0 {
			http.Error(rec, "no ready backend for "+rt.Name, http.StatusServiceUnavailable)
			break
		}
		var in countingBody
		if req.Body != nil && req.Body != http.NoBody {
			in.rc = req.Body
			req.Body = &in
		}
		if fastEligible(req) {
			if err := r.fastProxy(rec, req, rs); err != nil {
				rec.in = in.n.Load()
				r.logRequest(req, host, rt, rs, rec, time.Since(start))
				panic(http.ErrAbortHandler) // break off the client's connection
			}
			rec.in = in.n.Load()
			break
		}
		r.proxy.ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), reqStateKey{}, rs)))
		rec.in = in.n.Load()
		if c, ok := req.Context().Value(connKey{}).(net.Conn); ok && rs.status == http.StatusSwitchingProtocols {
			r.conns.remove(c) // the upgraded connection has ended
		}
	}
	r.logRequest(req, host, rt, rs, rec, time.Since(start))
}

// httpsURL is where a ForceSSL redirect sends a plain request.
func (r *Router) httpsURL(req *http.Request) string {
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if a, ok := r.HTTPSAddr().(*net.TCPAddr); ok && a.Port != 443 {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(a.Port))
	}
	return "https://" + host + req.URL.RequestURI()
}

func (r *Router) logRequest(req *http.Request, host string, rt *httpRoute, rs *reqState, rec *recorder, d time.Duration) {
	status := rec.status
	if status == 0 && rs != nil && rs.status == http.StatusSwitchingProtocols {
		status = rs.status
	}
	if status == 0 {
		status = http.StatusOK
	}
	if rt != nil {
		rt.m.request(status, d.Seconds(), rec.in, rec.bytes)
	}
	if r.access == nil {
		return
	}
	e := httpEntry{
		Time: time.Now().UTC(), Kind: "http", Client: req.RemoteAddr, Method: req.Method,
		Host: host, Path: req.URL.Path, Proto: req.Proto, Status: status, Bytes: rec.bytes,
		DurationMS: millis(d),
	}
	if rt != nil {
		e.Route = rt.label
	}
	if rs != nil {
		if rs.served != nil {
			e.Backend = rs.served.Address
		}
		e.Error = rs.errText
	}
	r.access.write(e)
}

// recorder notes a response's status and size; Unwrap lets
// http.ResponseController (used by the ReverseProxy to flush and to hijack
// for upgrades) reach the real writer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	in     int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 || w.status < 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts a request body's bytes for the metrics (the
// transport may still be reading it when the response is done).
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// bufferPool lends the ReverseProxy its 32 KiB copy buffers, which it
// would otherwise allocate for every request.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (bufferPool) Get() []byte { return copyBuffers.Get().(*[32 << 10]byte)[:] }

func (bufferPool) Put(b []byte) {
	if len(b) == 32<<10 {
		copyBuffers.Put((*[32 << 10]byte)(b))
	}
}
