package router

// Active health checks (RouteOptions.HTTPCheck): one loop per backend
// address and check, shared by every route that asks for the same check.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	checkInterval = 2 * time.Second
	checkTimeout  = 2 * time.Second
)

// checkState is one backend's result for one check. It starts passing (a
// new backend is as ready as the table says) and the first check runs at
// once.
type checkState struct {
	addr   string
	method string
	target string // a path, or "*" for OPTIONS *
	ok     atomic.Bool
	ctx    context.Context // canceled to stop the check
	stop   context.CancelFunc
	done   chan struct{} // closed when the check has stopped
}

type checkKey struct{ addr, check string }

// checker runs the checks that the current table wants.
type checker struct {
	mu     sync.Mutex
	checks map[checkKey]*checkState
	client *http.Client
	onFail func(addr string, err error)
}

func newChecker(onFail func(string, error)) *checker {
	return &checker{
		checks: map[checkKey]*checkState{},
		client: &http.Client{
			Timeout: checkTimeout,
			Transport: &http.Transport{
				DisableKeepAlives:     true,
				ResponseHeaderTimeout: checkTimeout,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		onFail: onFail,
	}
}

// parseCheck reads "GET /healthz", "/healthz", or haproxy's
// "OPTIONS * HTTP/1.1" into a method and request target.
func parseCheck(s string) (method, target string) {
	f := strings.Fields(s)
	switch len(f) {
	case 0:
		return "GET", "/"
	case 1:
		if strings.HasPrefix(f[0], "/") || f[0] == "*" {
			return "GET", f[0]
		}
		return strings.ToUpper(f[0]), "/"
	default:
		return strings.ToUpper(f[0]), f[1]
	}
}

// get returns the check for addr, starting it when new; sync stops those
// that no longer are wanted.
func (c *checker) get(want map[checkKey]*checkState, addr, check string) *checkState {
	k := checkKey{addr, check}
	if s := want[k]; s != nil {
		return s
	}
	c.mu.Lock()
	s := c.checks[k]
	if s == nil {
		method, target := parseCheck(check)
		s = &checkState{addr: addr, method: method, target: target, done: make(chan struct{})}
		s.ctx, s.stop = context.WithCancel(context.Background())
		s.ok.Store(true)
		c.checks[k] = s
		go c.loop(s)
	}
	c.mu.Unlock()
	want[k] = s
	return s
}

// sync stops every check not in want.
func (c *checker) sync(want map[checkKey]*checkState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.checks {
		if want[k] == nil {
			s.stop()
			delete(c.checks, k)
		}
	}
}

// close stops every check and waits for them.
func (c *checker) close() {
	c.mu.Lock()
	all := c.checks
	c.checks = map[checkKey]*checkState{}
	c.mu.Unlock()
	for _, s := range all {
		s.stop()
		<-s.done
	}
}

func (c *checker) loop(s *checkState) {
	defer close(s.done)
	t := time.NewTicker(checkInterval)
	defer t.Stop()
	for {
		err := c.probe(s.ctx, s)
		if s.ctx.Err() != nil {
			return
		}
		was := s.ok.Swap(err == nil)
		if err != nil && was && c.onFail != nil {
			c.onFail(s.addr, err)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends the check once: a 2xx or 3xx answer passes.
func (c *checker) probe(ctx context.Context, s *checkState) error {
	u := &url.URL{Scheme: "http", Host: s.addr, Path: s.target}
	if s.target == "*" {
		u.Path, u.Opaque = "", "*"
	} else if i := strings.IndexByte(s.target, '?'); i >= 0 {
		u.Path, u.RawQuery = s.target[:i], s.target[i+1:]
	}
	req, err := http.NewRequestWithContext(ctx, s.method, "http://"+s.addr+"/", nil)
	if err != nil {
		return err
	}
	req.URL = u
	req.Header.Set("User-Agent", "wharf-router-check")
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode >= 400 {
		return &checkError{res.Status}
	}
	return nil
}

type checkError struct{ status string }

func (e *checkError) Error() string { return "health check answered " + e.status }
