package router

// The HTTP/1.x front on fasthttp: the client's requests are parsed by
// github.com/valyala/fasthttp's Server, routed as on the net/http path
// (host, path, balance, sticky cookie), answered by the router itself
// (404, 503, the ForceSSL redirect) or forwarded by fhproxy.go.

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// newFastServer is the fasthttp server of the HTTP listener (secure
// false) or of the HTTPS listener's HTTP/1.x connections.
func (r *Router) newFastServer(secure bool) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      func(ctx *fasthttp.RequestCtx) { r.serveFast(ctx, secure) },
		Name:                         "",
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		StreamRequestBody:            true,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               8 << 10,
		Logger:                       fastLogger{r},
	}
}

// fastLogger sends fasthttp's messages to the router's log at debug level.
type fastLogger struct{ r *Router }

func (l fastLogger) Printf(format string, args ...any) {
	l.r.log.Debug("router: " + fmt.Sprintf(format, args...))
}

// fastHostPath is the request's host and its path as net/http would have
// them: the path percent-decoded, from an origin-form or absolute-form
// target. The request's target itself is left as it came, so that the
// backend gets it unchanged.
func fastHostPath(req *fasthttp.Request) (host, path string) {
	host = string(req.Header.Host())
	uri := req.Header.RequestURI()
	if len(uri) > 0 && uri[0] == '/' {
		p := uri
		for i, c := range p {
			if c == '?' || c == '#' {
				p = p[:i]
				break
			}
		}
		if !strings.Contains(string(p), "%") {
			return host, string(p)
		}
	}
	u, err := url.ParseRequestURI(string(uri))
	if err != nil {
		return host, string(uri)
	}
	if u.Host != "" {
		host = u.Host
	}
	return host, u.Path
}

// fastRecord is what the access log and the metrics need of one request
// on the fasthttp path.
type fastRecord struct {
	start  time.Time
	host   string
	path   string
	client string
	route  *httpRoute
	rs     *reqState
	status int
	bytes  int64
	in     int64
}

func (r *Router) serveFast(ctx *fasthttp.RequestCtx, secure bool) {
	req := &ctx.Request
	host, path := fastHostPath(req)
	rec := &fastRecord{start: time.Now(), host: normalizeHost(host), path: path}
	rec.client = ctx.RemoteAddr().String()
	t := r.table.Load()
	routes := &t.plain
	if secure {
		routes = &t.secure
	}
	rt := routes.match(rec.host, path)
	rec.route = rt
	switch {
	case rt == nil:
		fastError(ctx, fmt.Sprintf("no route for host %q", rec.host), fasthttp.StatusNotFound)
	case rt.redirect:
		r.fastRedirect(ctx, host)
	default:
		rs := &reqState{route: rt}
		rec.rs = rs
		if rt.Cookie != "" {
			rs.sticky = string(req.Header.Cookie(rt.Cookie))
		}
		rs.order = rt.pool.order(clientIP(rec.client), rs.sticky)
		if len(rs.order) == 0 {
			fastError(ctx, "no ready backend for "+rt.Name, fasthttp.StatusServiceUnavailable)
			break
		}
		if r.fastForward(ctx, rec, secure) {
			return // the response's body is streamed: logged when it ends
		}
	}
	r.logFast(ctx, rec)
}

// fastError answers as http.Error does.
func fastError(ctx *fasthttp.RequestCtx, msg string, code int) {
	ctx.Response.Reset()
	ctx.Response.Header.Set("Content-Type", "text/plain; charset=utf-8")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetStatusCode(code)
	ctx.SetBodyString(msg + "\n")
}

// fastRedirect is the ForceSSL answer: 308 to the same URL on https.
func (r *Router) fastRedirect(ctx *fasthttp.RequestCtx, host string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if a, ok := r.HTTPSAddr().(*net.TCPAddr); ok && a.Port != 443 {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(a.Port))
	}
	uri := string(ctx.Request.Header.RequestURI())
	if u, err := url.ParseRequestURI(uri); err == nil && u.IsAbs() {
		uri = u.RequestURI()
	}
	target := "https://" + host + uri
	ctx.Response.Header.Set("Location", target)
	ctx.SetStatusCode(fasthttp.StatusPermanentRedirect)
	if m := string(ctx.Method()); m == "GET" || m == "HEAD" {
		ctx.Response.Header.Set("Content-Type", "text/html; charset=utf-8")
		ctx.SetBodyString("<a href=\"" + htmlEscape(target) + "\">Permanent Redirect</a>.\n\n")
	}
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }

// logFast counts the request in its route's metrics and writes its access
// log line.
func (r *Router) logFast(ctx *fasthttp.RequestCtx, rec *fastRecord) {
	d := time.Since(rec.start)
	status := rec.status
	if status == 0 {
		status = ctx.Response.StatusCode()
	}
	if rec.bytes == 0 && !ctx.Response.IsBodyStream() {
		rec.bytes = int64(len(ctx.Response.Body()))
	}
	if rec.route != nil {
		rec.route.m.request(status, d.Seconds(), rec.in, rec.bytes)
	}
	if r.access == nil {
		return
	}
	e := httpEntry{
		Time: time.Now().UTC(), Kind: "http", Client: rec.client, Method: string(ctx.Method()),
		Host: rec.host, Path: rec.path, Proto: string(ctx.Request.Header.Protocol()), Status: status, Bytes: rec.bytes,
		DurationMS: millis(d),
	}
	if rec.route != nil {
		e.Route = rec.route.label
	}
	if rs := rec.rs; rs != nil {
		if rs.served != nil {
			e.Backend = rs.served.Address
		}
		e.Error = rs.errText
	}
	r.access.write(e)
}
