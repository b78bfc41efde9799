package router

// The fast path for plain requests (HTTP/1.x or HTTP/2 from the client,
// HTTP/1.1 to the backend): net/http parses both legs ((*http.Request).Write
// and http.ReadResponse), but the exchange with the backend runs on the
// handler's goroutine over the router's own pooled connections, with no
// hand-off to transport goroutines (a request body is sent by a goroutine
// of its own while the response is read). Upgrades, CONNECT and
// Expect: 100-continue go through the ReverseProxy.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"
)

// errAbort is returned by fastProxy when the backend failed after the
// response's header was sent: the client's connection must be broken off.
var errAbort = errors.New("router: backend failed mid-response")

// fastEligible tells whether req can take the fast path.
func fastEligible(req *http.Request) bool {
	return (req.ProtoMajor == 1 || req.ProtoMajor == 2) && req.Method != http.MethodConnect &&
		req.Header["Upgrade"] == nil && req.Header["Expect"] == nil
}

// hopHeaders are the hop-by-hop headers of RFC 7230 section 6.1 and the
// older ones proxies also drop.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop drops the hop-by-hop headers and those named in
// Connection.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// outgoing is the request to send to a backend: req with its own header
// (hop-by-hop headers removed, forwarding headers set by rewrite, as the
// ReverseProxy path does) and URL.
func outgoing(req *http.Request) *http.Request {
	out := new(http.Request)
	*out = *req
	u := *req.URL
	out.URL = &u
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Close = false
	out.RequestURI = ""
	removeHopByHop(out.Header)
	if headerHasToken(req.Header["Te"], "trailers") {
		out.Header["Te"] = []string{"trailers"}
	}
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(out.Header, k)
	}
	rewrite(&httputil.ProxyRequest{In: req, Out: out})
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // not Go's default
	}
	return out
}

// headerHasToken tells whether a comma-separated header names token.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// fastProxy sends req to the first of rs's backends that can be reached
// and copies the response to w. It returns errAbort when the backend
// failed after the response's header was written.
func (r *Router) fastProxy(w *recorder, req *http.Request, rs *reqState) error {
	out := outgoing(req)
	ctx := req.Context()
	hasBody := out.Body != nil && out.Body != http.NoBody
	if hasBody {
		// The body is sent while the response comes back: net/http must
		// not discard what is left of it when the header is written.
		_ = http.NewResponseController(w.ResponseWriter).EnableFullDuplex()
	}
	var (
		res     *http.Response
		pc      *pconn
		written <-chan error
		err     error
		m       *member
	)
	for wait, waited := refusedRetryStep, time.Duration(0); ; wait *= 2 {
		res, pc, written, m, err = r.tryBackends(out, rs, hasBody)
		// Every backend refused: a container just started may not listen
		// yet. Nothing was sent, so any request may wait and try again.
		if res != nil || !rs.dialErr || ctx.Err() != nil || waited >= refusedRetryFor {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		waited += wait
	}
	if res == nil {
		if err == nil {
			err = errors.New("router: no backend")
		}
		r.answerError(w, req, rs, err)
		return nil
	}
	defer m.b.release()

	rs.status = res.StatusCode
	removeHopByHop(res.Header)
	setStickyCookie(rs, res.Header)
	h := w.Header()
	for k, vv := range res.Header {
		if prior, ok := h[k]; ok {
			h[k] = append(prior, vv...)
		} else {
			h[k] = vv
		}
	}
	if len(res.Trailer) > 0 {
		keys := make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(res.StatusCode)

	readErr, writeErr := copyBody(w, res.Body, streaming(res))
	if readErr != nil || writeErr != nil {
		pc.close() // first, so that closing the body does not drain it
		_ = res.Body.Close()
		<-written
		if readErr != nil && ctx.Err() == nil {
			rs.errText = "reading the response: " + readErr.Error()
			return errAbort
		}
		if readErr != nil {
			rs.errText = "the client went away: " + context.Cause(ctx).Error()
			return nil
		}
		rs.errText = "writing the response: " + writeErr.Error()
		return nil
	}
	_ = res.Body.Close()
	if len(res.Trailer) > 0 {
		w.Flush() // a trailer needs chunking, even for a short body
		for k, vv := range res.Trailer {
			h[k] = vv
		}
	}
	reuse := !res.Close
	select {
	case err := <-written:
		reuse = reuse && err == nil
	default:
		// The backend answered before it read the whole request body: the
		// connection cannot carry another request. The client gets the
		// response before the rest of its body is waited for.
		pc.close()
		w.Flush()
		<-written
		return nil
	}
	if pc.unwatch() && reuse {
		m.b.putConn(pc)
	} else {
		pc.close()
	}
	return nil
}

// tryBackends sends out to the route's backends in rs's order until one
// answers: a backend that refuses the connection, or (for a request that
// may be sent again) stops answering on one, is marked down and the next
// is tried. rs.dialErr says whether every one failed that way.
func (r *Router) tryBackends(out *http.Request, rs *reqState, hasBody bool) (res *http.Response, pc *pconn, written <-chan error, m *member, err error) {
	ctx := out.Context()
	for i := range rs.order {
		m = rs.order[i]
		if i > 0 {
			rs.route.m.retry()
		}
		out.URL.Host = m.Address
		m.b.active.Add(1)
		rs.served = m
		res, pc, written, err = m.b.exchange(out, hasBody)
		if err == nil {
			rs.dialErr = false
			return res, pc, written, m, nil
		}
		m.b.release()
		dead := isDeadError(err)
		if !(isDialError(err) || dead) || ctx.Err() != nil {
			rs.dialErr = false
			return nil, nil, nil, m, err
		}
		rs.dialErr = true
		rs.route.m.connectError()
		if dead {
			m.b.markDown()
		}
		r.log.Debug("router: backend failed before answering; trying another", "route", rs.route.label, "backend", m.Address, "err", err)
	}
	return nil, nil, nil, m, err
}

// doneWriting is the written channel of a request sent before its
// response was read.
var doneWriting = func() <-chan error {
	c := make(chan error, 1)
	c <- nil
	close(c)
	return c
}()

// exchange sends out over one of the backend's connections and reads the
// response's header. A failure to connect is a *dialError. A reused
// connection that fails before any byte of the response came is the
// backend having closed it while idle: a request without a body is then
// sent again once on a new connection. written reports the end of the
// request's sending (a body is sent by another goroutine while the
// response is read, so that a backend may answer before reading it all).
func (b *backend) exchange(out *http.Request, hasBody bool) (*http.Response, *pconn, <-chan error, error) {
	ctx := out.Context()
	pc, reused, err := b.getConn(ctx)
	// A request that could not be sent again is given only a connection
	// that is still open.
	for err == nil && reused && (hasBody || !replayable(out)) && !pc.alive() {
		pc.close()
		pc, reused, err = b.getConn(ctx)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	pc.watch(ctx)
	res, written, err := pc.roundTrip(out, hasBody)
	if err != nil && reused && !hasBody && pc.read == 0 && ctx.Err() == nil && (errors.Is(err, errNotSent) || replayable(out)) {
		pc.close()
		if pc, err = b.dialConn(ctx); err != nil {
			return nil, nil, nil, err
		}
		pc.watch(ctx)
		res, written, err = pc.roundTrip(out, hasBody)
	}
	if err != nil {
		pc.close()
		if pc.read == 0 && !hasBody && replayable(out) && ctx.Err() == nil {
			return nil, nil, nil, &deadError{err}
		}
		return nil, nil, nil, err
	}
	return res, pc, written, nil
}

// roundTrip writes out and reads the final response's header, skipping
// informational responses.
func (pc *pconn) roundTrip(out *http.Request, hasBody bool) (*http.Response, <-chan error, error) {
	pc.read = 0
	written := doneWriting
	if hasBody {
		c := make(chan error, 1)
		go func() { c <- pc.write(out) }()
		written = c
	} else if err := pc.write(out); err != nil {
		return nil, nil, err
	}
	for {
		res, err := http.ReadResponse(pc.br, out)
		switch {
		case err != nil:
			if hasBody {
				_ = pc.c.Close()
				<-written
			}
			return nil, nil, err
		case res.StatusCode == http.StatusSwitchingProtocols:
			if hasBody {
				_ = pc.c.Close()
				<-written
			}
			return nil, nil, errors.New("router: backend switched protocols on a request that asked for no upgrade")
		case res.StatusCode < 200:
			continue
		}
		return res, written, nil
	}
}

// errNotSent marks a request that could not be sent whole.
var errNotSent = errors.New("router: the request could not be sent to the backend")

func (pc *pconn) write(out *http.Request) error {
	err := out.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	return nil
}

// replayable tells whether a request without a body may be sent again
// after the backend may have seen it: its method is idempotent, or it
// carries an idempotency key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}

// streaming tells whether a response is flushed as it comes: an event
// stream or a body of unknown length.
func streaming(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := res.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "text/event-stream")
}

// copyBody copies a response body to w with a pooled buffer, flushing
// after each write when flush is set, and says which side failed.
func copyBody(w *recorder, body io.Reader, flush bool) (readErr, writeErr error) {
	buf := copyBuffers.Get().(*[32 << 10]byte)
	defer copyBuffers.Put(buf)
	for {
		n, err := body.Read(buf[:])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if flush {
				w.Flush()
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}
