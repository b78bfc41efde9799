package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// maxBody bounds the answer body read per request: a load test's
// targets answer small pages.
const maxBody = 1 << 20

// httpSender sends GET o.URL with its own transport, keeping up to
// Concurrency idle connections (none with NewConnections).
type httpSender struct {
	o      Options
	client *http.Client
	tr     *http.Transport
}

func newHTTPSender(o Options) *httpSender {
	tlsConf := o.TLS
	if tlsConf == nil && o.HostHeader != "" {
		host := o.HostHeader
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback targets only: never through a proxy of the environment
		DialContext:         (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		DisableKeepAlives:   o.NewConnections,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	return &httpSender{
		o:  o,
		tr: tr,
		client: &http.Client{
			Transport: tr,
			// A redirect is an answer of its own (ForceSSL's 308), not
			// followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (s *httpSender) do(ctx context.Context, _ int) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.o.URL, nil)
	if err != nil {
		return outcome{kind: Other, err: err}
	}
	if s.o.HostHeader != "" {
		req.Host = s.o.HostHeader
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{kind: classify(err), err: err}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	out := outcome{status: resp.StatusCode}
	switch {
	case err != nil:
		out.kind, out.err = classify(err), fmt.Errorf("reading the body of a %d answer: %w", resp.StatusCode, err)
	case resp.StatusCode >= 500:
		out.kind, out.err = Status5xx, fmt.Errorf("status %d", resp.StatusCode)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		out.kind = OK
	default:
		out.kind, out.err = Other, fmt.Errorf("status %d", resp.StatusCode)
	}
	return out
}

func (s *httpSender) close() { s.tr.CloseIdleConnections() }

// classify says which Kind a request's error is.
func classify(err error) Kind {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Reset
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Timeout
	}
	return Other
}
