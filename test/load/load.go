// Package load is a bounded load generator for Wharf's process-level
// tests: it sends HTTP requests (or opens TCP connections that echo a
// payload) at a fixed rate, open-loop, with at most Concurrency in
// flight, for a bounded time and count, and reports what came back:
// requests sent, answered 2xx, failed by kind (connection refused, reset,
// timeout, 5xx, other) and the latency percentiles of the good ones.
//
// It is for loopback traffic to a cluster under test (a rolling update, a
// scale, a node lost, while requests keep coming), not a benchmark tool:
// benchmarks use wrk and report its figures.
package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Hard caps on one run, whatever the options say.
const (
	MaxDuration    = 10 * time.Minute
	MaxRate        = 50_000 // requests per second
	MaxConcurrency = 4_096
	MaxRequests    = 2_000_000 // total, so the latencies kept stay under 16 MB
	MaxTimeout     = time.Minute
)

// Defaults for options left zero.
const (
	DefaultConcurrency = 256
	DefaultTimeout     = 5 * time.Second
)

// Options say what to load and how hard.
type Options struct {
	// URL is the HTTP target ("http://127.0.0.1:8080/"). Exactly one of
	// URL and Addr is set.
	URL string
	// Addr is a TCP echo target ("127.0.0.1:9000"): each request is a new
	// connection that writes a small payload, reads it back and closes.
	Addr string
	// Rate is requests started per second, on a fixed schedule whatever
	// the answers (open loop).
	Rate int
	// Duration is how long requests are started for; the run ends when
	// the last in-flight request ends, at most Timeout later.
	Duration time.Duration
	// Concurrency bounds the requests in flight (default 256). A request
	// due while all are busy is not sent and is counted as Skipped.
	Concurrency int
	// Timeout bounds each request, connection and body included
	// (default 5 s).
	Timeout time.Duration
	// HostHeader, when set, is the HTTP Host header (a router's virtual
	// host) while URL names the router's address.
	HostHeader string
	// TLS configures https:// targets (default: the system's roots, and
	// HostHeader as the server name when set).
	TLS *tls.Config
	// NewConnections makes every HTTP request open its own connection
	// (no keep-alive), as many short-lived clients would.
	NewConnections bool
	// MaxRequests caps the requests started (default and upper bound:
	// the schedule's Rate x Duration, and MaxRequests).
	MaxRequests int
}

// total is the number of requests the schedule starts.
func (o Options) total() int {
	n := int(float64(o.Rate) * o.Duration.Seconds())
	if o.MaxRequests > 0 && o.MaxRequests < n {
		n = o.MaxRequests
	}
	return min(n, MaxRequests)
}

// normalize fills the defaults and checks the options against the caps.
func (o Options) normalize() (Options, error) {
	if (o.URL == "") == (o.Addr == "") {
		return o, errors.New("load: set exactly one of Options.URL (HTTP) and Options.Addr (TCP echo)")
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("load: Options.URL %q is not an http:// or https:// URL with a host", o.URL)
		}
	}
	if o.Rate <= 0 || o.Rate > MaxRate {
		return o, fmt.Errorf("load: Options.Rate %d is out of range: give 1 to %d requests per second", o.Rate, MaxRate)
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return o, fmt.Errorf("load: Options.Duration %v is out of range: give more than 0 and at most %v", o.Duration, MaxDuration)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return o, fmt.Errorf("load: Options.Concurrency %d is out of range: give 1 to %d", o.Concurrency, MaxConcurrency)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 || o.Timeout > MaxTimeout {
		return o, fmt.Errorf("load: Options.Timeout %v is out of range: give more than 0 and at most %v", o.Timeout, MaxTimeout)
	}
	if o.MaxRequests < 0 {
		return o, fmt.Errorf("load: Options.MaxRequests %d is negative: give 0 for the schedule's count", o.MaxRequests)
	}
	if o.total() == 0 {
		return o, fmt.Errorf("load: Rate %d over Duration %v schedules no request", o.Rate, o.Duration)
	}
	return o, nil
}

// Run loads the target as o says and returns what happened. It returns
// when every scheduled request has been started (or skipped) and has
// ended, or soon after ctx ends (requests then in flight are counted as
// Canceled); at the latest Duration plus Timeout after it starts. The
// error is for options that cannot run; failed requests are counted in
// the Result, never returned.
func Run(ctx context.Context, o Options) (Result, error) {
	o, err := o.normalize()
	if err != nil {
		return Result{}, err
	}
	var send sender
	if o.URL != "" {
		send = newHTTPSender(o)
	} else {
		send = newTCPSender(o)
	}
	defer send.close()
	return schedule(ctx, o, send), nil
}
