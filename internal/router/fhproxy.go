package router

// Forwarding on the fasthttp path: the client's request is rewritten in
// place (hop-by-hop headers dropped, forwarding headers set) and written to
// one of the router's pooled backend connections (connpool.go) with
// fasthttp's Request.Write; the backend's response is read with fasthttp's
// header and body readers straight into the client's response. A body of
// known, small size is read whole; any other is streamed to the client as
// it comes, and the backend connection goes back to the pool when it ends.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// fastBufferedBody is the largest response body read whole before it is
// sent on; larger ones, and those of unknown length, are streamed.
const fastBufferedBody = 64 << 10

var (
	hopHeaderBytes = [][]byte{
		[]byte("Connection"), []byte("Proxy-Connection"), []byte("Keep-Alive"), []byte("Proxy-Authenticate"),
		[]byte("Proxy-Authorization"), []byte("Te"), []byte("Trailer"), []byte("Transfer-Encoding"), []byte("Upgrade"),
	}
	strXForwardedFor   = []byte("X-Forwarded-For")
	strXForwardedHost  = []byte("X-Forwarded-Host")
	strXForwardedProto = []byte("X-Forwarded-Proto")
	strForwarded       = []byte("Forwarded")
)

// fastOutgoing rewrites the client's request into the one the backend gets,
// as outgoing does on the net/http path. It returns whether the client
// asked for its connection to be closed after the response.
func fastOutgoing(ctx *fasthttp.RequestCtx, host string, secure bool) (clientClose bool) {
	h := &ctx.Request.Header
	clientClose = h.ConnectionClose()
	te := headerHasTokenBytes(h.PeekAll("Te"), "trailers")
	for _, v := range h.PeekAll("Connection") {
		for f := range strings.SplitSeq(string(v), ",") {
			if f = strings.TrimSpace(f); f != "" && !strings.EqualFold(f, "close") && !strings.EqualFold(f, "keep-alive") {
				h.Del(f)
			}
		}
	}
	h.ResetConnectionClose()
	for _, k := range hopHeaderBytes {
		h.DelBytes(k)
	}
	if te {
		h.Set("Te", "trailers")
	}
	if !h.IsHTTP11() {
		h.SetProtocol("HTTP/1.1")
	}
	ip := clientIP(ctx.RemoteAddr().String())
	xff := ip
	if prior := h.PeekAll("X-Forwarded-For"); len(prior) > 0 {
		xff = string(bytes.Join(prior, []byte(", "))) + ", " + ip
	}
	h.DelBytes(strXForwardedFor)
	h.SetBytesK(strXForwardedFor, xff)
	h.SetBytesK(strXForwardedHost, host)
	proto := "http"
	if secure {
		proto = "https"
	}
	h.SetBytesK(strXForwardedProto, proto)
	fwd := "for=" + forwardedNode(ctx.RemoteAddr().String()) + ";host=" + forwardedValue(host) + ";proto=" + proto
	if prior := h.PeekAll("Forwarded"); len(prior) > 0 {
		fwd = string(bytes.Join(prior, []byte(", "))) + ", " + fwd
	}
	h.DelBytes(strForwarded)
	h.SetBytesK(strForwarded, fwd)
	return clientClose
}

// headerHasTokenBytes is headerHasToken for fasthttp's header values.
func headerHasTokenBytes(values [][]byte, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(string(v), ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// fastReplayable is replayable for a fasthttp request.
func fastReplayable(req *fasthttp.Request) bool {
	switch string(req.Header.Method()) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return len(req.Header.Peek("Idempotency-Key")) > 0 || len(req.Header.Peek("X-Idempotency-Key")) > 0
}

// fastForward sends the request to the first of the route's backends that
// can be reached and puts the answer in ctx's response. It returns true
// when the response's body is streamed: the request is logged and its
// backend connection released when the stream ends.
func (r *Router) fastForward(ctx *fasthttp.RequestCtx, rec *fastRecord, secure bool) bool {
	rs := rec.rs
	req := &ctx.Request
	host := string(req.Header.Host())
	clientClose := fastOutgoing(ctx, host, secure)
	if clientClose {
		ctx.SetConnectionClose()
	}
	hasBody := req.IsBodyStream() || len(req.Body()) > 0
	// The request's bytes for the metrics: its declared length (a chunked
	// body streamed through is not counted).
	rec.in = int64(max(req.Header.ContentLength(), 0))
	replay := fastReplayable(req)
	head := bytes.Equal(req.Header.Method(), []byte("HEAD"))
	var (
		pc  *pconn
		m   *member
		err error
	)
	for wait, waited := refusedRetryStep, time.Duration(0); ; wait *= 2 {
		pc, m, err = r.fastTry(ctx, rs, hasBody, replay, head)
		if pc != nil || !rs.dialErr || waited >= refusedRetryFor {
			break
		}
		time.Sleep(wait)
		waited += wait
	}
	if pc == nil {
		if err == nil {
			err = errors.New("router: no backend")
		}
		rs.errText = err.Error()
		if rs.dialErr {
			fastError(ctx, "no backend of "+rs.route.Name+" can be reached", fasthttp.StatusServiceUnavailable)
		} else {
			r.log.Debug("router: backend failed", "err", err)
			fastError(ctx, "bad gateway", fasthttp.StatusBadGateway)
		}
		return false
	}
	res := &ctx.Response
	rs.status = res.StatusCode()
	backendClose := res.Header.ConnectionClose()
	res.Header.ResetConnectionClose()
	if clientClose {
		ctx.SetConnectionClose()
	}
	removeHopByHopResponse(&res.Header)
	if rs.route.Cookie != "" && rs.served != nil && rs.served.Container != rs.sticky {
		fastStickyCookie(rs, &res.Header)
	}
	cl := res.Header.ContentLength()
	if head || res.Header.StatusCode() == fasthttp.StatusNoContent || res.Header.StatusCode() == fasthttp.StatusNotModified ||
		(cl >= 0 && cl <= fastBufferedBody && !bytes.HasPrefix(res.Header.ContentType(), []byte("text/event-stream"))) {
		code := res.Header.StatusCode()
		if skip := head || code == fasthttp.StatusNoContent || code == fasthttp.StatusNotModified; !skip {
			if err := res.ReadBody(pc.br, 0); err != nil {
				pc.close()
				m.b.release()
				rs.errText = "reading the response: " + err.Error()
				fastError(ctx, "bad gateway", fasthttp.StatusBadGateway)
				return false
			}
		} else {
			res.SkipBody = true
		}
		if backendClose {
			pc.close()
		} else {
			m.b.putConn(pc)
		}
		m.b.release()
		return false
	}
	// Streamed: the body is read from the backend while it is written to
	// the client, after the handler has returned.
	be := fasthttp.AcquireResponse()
	res.Header.CopyTo(&be.Header)
	be.StreamBody = true
	if err := be.ReadBody(pc.br, 0); err != nil {
		fasthttp.ReleaseResponse(be)
		pc.close()
		m.b.release()
		rs.errText = "reading the response: " + err.Error()
		fastError(ctx, "bad gateway", fasthttp.StatusBadGateway)
		return false
	}
	s := &fastStream{r: r, ctx: ctx, rec: rec, be: be, body: be.BodyStream(), pc: pc, m: m, reuse: !backendClose}
	if bytes.HasPrefix(res.Header.ContentType(), []byte("text/event-stream")) {
		// fasthttp flushes a chunked body at every chunk, a body of known
		// length only when its buffer is full: an event stream is sent
		// chunked, whatever length the backend gave.
		cl = -1
	}
	res.SetBodyStream(s, cl)
	return true
}

// fastTry sends the request to rs's backends in order until one answers
// with a header, read into ctx's response; rs.dialErr says whether every
// one failed to be reached.
func (r *Router) fastTry(ctx *fasthttp.RequestCtx, rs *reqState, hasBody, replay, head bool) (*pconn, *member, error) {
	var err error
	var m *member
	for i := range rs.order {
		m = rs.order[i]
		if i > 0 {
			rs.route.m.retry()
		}
		m.b.active.Add(1)
		rs.served = m
		var pc *pconn
		pc, err = m.b.fastExchange(ctx, hasBody, replay)
		if err == nil {
			rs.dialErr = false
			return pc, m, nil
		}
		m.b.release()
		dead := isDeadError(err)
		if !(isDialError(err) || dead) {
			rs.dialErr = false
			return nil, m, err
		}
		rs.dialErr = true
		rs.route.m.connectError()
		if dead {
			m.b.markDown()
		}
		r.log.Debug("router: backend failed before answering; trying another", "route", rs.route.label, "backend", m.Address, "err", err)
	}
	return nil, m, err
}

// fastExchange is exchange for the fasthttp path: it writes the request to
// one of the backend's connections and reads the response's header into
// ctx's response, with the same rules for sending a request again.
func (b *backend) fastExchange(ctx *fasthttp.RequestCtx, hasBody, replay bool) (*pconn, error) {
	bg := context.Background()
	pc, reused, err := b.getConn(bg)
	for err == nil && reused && (hasBody || !replay) && !pc.alive() {
		pc.close()
		pc, reused, err = b.getConn(bg)
	}
	if err != nil {
		return nil, err
	}
	err = pc.fastRoundTrip(ctx, hasBody)
	if err != nil && reused && !hasBody && pc.read == 0 && (errors.Is(err, errNotSent) || replay) {
		pc.close()
		if pc, err = b.dialConn(bg); err != nil {
			return nil, err
		}
		err = pc.fastRoundTrip(ctx, hasBody)
	}
	if err != nil {
		pc.close()
		if pc.read == 0 && !hasBody && replay {
			return nil, &deadError{err}
		}
		return nil, err
	}
	return pc, nil
}

// fastRoundTrip writes the request and reads the final response's header.
func (pc *pconn) fastRoundTrip(ctx *fasthttp.RequestCtx, hasBody bool) error {
	pc.read = 0
	req := &ctx.Request
	if err := req.Write(pc.bw); err != nil {
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	res := &ctx.Response
	for {
		if err := res.Header.Read(pc.br); err != nil {
			return err
		}
		switch code := res.Header.StatusCode(); {
		case code == fasthttp.StatusSwitchingProtocols:
			return errors.New("router: backend switched protocols on a request that asked for no upgrade")
		case code < 200:
			continue
		}
		return nil
	}
}

// removeHopByHopResponse drops a response's hop-by-hop headers and those
// its Connection header names.
func removeHopByHopResponse(h *fasthttp.ResponseHeader) {
	for _, v := range h.PeekAll("Connection") {
		for f := range strings.SplitSeq(string(v), ",") {
			if f = strings.TrimSpace(f); f != "" && !strings.EqualFold(f, "close") && !strings.EqualFold(f, "keep-alive") {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaderBytes {
		if string(k) == "Trailer" {
			continue // fasthttp announces the trailers it writes
		}
		h.DelBytes(k)
	}
}

// fastStickyCookie adds the sticky cookie naming the backend that answered.
func fastStickyCookie(rs *reqState, h *fasthttp.ResponseHeader) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(rs.route.Cookie)
	c.SetValue(rs.served.Container)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSecure(rs.route.TLS)
	h.Add("Set-Cookie", string(c.Cookie()))
}

// fastStream is a streamed response body: it reads from the backend as
// fasthttp writes to the client, and when fasthttp closes it (the end, or
// a failure on either side) it gives the backend connection back or closes
// it, and logs the request.
type fastStream struct {
	r     *Router
	ctx   *fasthttp.RequestCtx
	rec   *fastRecord
	be    *fasthttp.Response
	body  io.Reader
	pc    *pconn
	m     *member
	reuse bool
	eof   bool
	err   error
	n     int64
	done  bool
}

func (s *fastStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	s.n += int64(n)
	if err == io.EOF {
		s.eof = true
		// The backend's trailers are read with the body's end; fasthttp
		// writes the client's response's ones right after.
		h := &s.ctx.Response.Header
		for _, k := range s.be.Header.PeekTrailerKeys() {
			if v := s.be.Header.PeekTrailer(string(k)); v != nil {
				h.SetBytesKV(k, v)
			}
		}
	} else if err != nil {
		s.err = err
	}
	return n, err
}

func (s *fastStream) Close() error { return s.CloseWithError(nil) }

// CloseWithError is called by fasthttp with the error that ended the
// writing of the response, if any.
func (s *fastStream) CloseWithError(werr error) error {
	if s.done {
		return nil
	}
	s.done = true
	rs := s.rec.rs
	if s.eof && werr == nil && s.reuse {
		_ = s.be.CloseBodyStream()
		s.m.b.putConn(s.pc)
	} else {
		s.pc.close()
		_ = s.be.CloseBodyStream()
		switch {
		case s.err != nil:
			rs.errText = "reading the response: " + s.err.Error()
			_ = s.ctx.Conn().Close() // the client must see the response broken off
		case werr != nil:
			rs.errText = "writing the response: " + werr.Error()
		}
	}
	fasthttp.ReleaseResponse(s.be)
	s.m.b.release()
	s.rec.bytes = s.n
	s.r.logFast(s.ctx, s.rec)
	return nil
}
