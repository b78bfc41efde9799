package load

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func run(t *testing.T, o Options) Result {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Scheduled != r.Sent+r.Skipped {
		t.Errorf("scheduled %d is not sent %d + skipped %d", r.Scheduled, r.Sent, r.Skipped)
	}
	sum := 0
	for _, n := range r.Counts {
		sum += n
	}
	if sum != r.Sent {
		t.Errorf("the counts by kind add up to %d, not the %d sent: %v", sum, r.Sent, r.Counts)
	}
	return r
}

func TestHTTPCountsEveryScheduledRequest(t *testing.T) {
	var hosts sync.Map
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		hosts.Store(r.Host, true)
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	r := run(t, Options{URL: srv.URL, Rate: 400, Duration: 250 * time.Millisecond, Concurrency: 32, HostHeader: "app.example.com"})
	if r.Scheduled != 100 {
		t.Errorf("scheduled %d requests; want 400/s x 0.25 s = 100", r.Scheduled)
	}
	if r.Count(OK) != r.Sent || int64(r.Sent) != served.Load() {
		t.Errorf("ok %d, sent %d, served %d: want all equal", r.Count(OK), r.Sent, served.Load())
	}
	if r.Statuses[200] != r.Sent {
		t.Errorf("statuses %v; want %d x 200", r.Statuses, r.Sent)
	}
	hosts.Range(func(k, _ any) bool {
		if k != "app.example.com" {
			t.Errorf("the server saw Host %q; want app.example.com", k)
		}
		return true
	})
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Errorf("latency percentiles out of order: %+v", r.Latency)
	}
	ok := 0
	for _, s := range r.Seconds {
		ok += s.OK
	}
	if ok != r.Count(OK) {
		t.Errorf("the seconds count %d ok; the total is %d", ok, r.Count(OK))
	}
}

func TestHTTP5xxAndOtherStatuses(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusBadGateway)
		case 1:
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	r := run(t, Options{URL: srv.URL, Rate: 300, Duration: 200 * time.Millisecond, Concurrency: 1})
	if r.Count(Status5xx) != r.Statuses[502] || r.Count(Other) != r.Statuses[404] || r.Count(OK) != r.Statuses[204] {
		t.Errorf("counts %v do not match statuses %v", r.Counts, r.Statuses)
	}
	if r.Count(Status5xx) == 0 || r.Count(Other) == 0 || r.Count(OK) == 0 {
		t.Errorf("want some of each of 502, 404 and 204; got %v", r.Statuses)
	}
	if r.Failed() != r.Count(Status5xx)+r.Count(Other) {
		t.Errorf("failed %d; want 5xx + other", r.Failed())
	}
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRefused(t *testing.T) {
	addr := closedAddr(t)
	for _, o := range []Options{{URL: "http://" + addr + "/"}, {Addr: addr}} {
		o.Rate, o.Duration = 100, 100*time.Millisecond
		r := run(t, o)
		if r.Sent == 0 || r.Count(Refused) != r.Sent {
			t.Errorf("%+v: refused %d of %d sent; want all", o, r.Count(Refused), r.Sent)
		}
		if len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "refused") {
			t.Errorf("errors %q; want a connection refused", r.Errors)
		}
	}
}

// resetServer accepts connections, reads a little and resets them
// (SO_LINGER 0), until the test ends.
func resetServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 16)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = c.Read(buf)
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestReset(t *testing.T) {
	addr := resetServer(t)
	for _, o := range []Options{{URL: "http://" + addr + "/"}, {Addr: addr}} {
		o.Rate, o.Duration = 100, 100*time.Millisecond
		r := run(t, o)
		if r.Sent == 0 || r.Count(Reset) != r.Sent {
			t.Errorf("%+v: reset %d of %d sent; want all (errors %q)", o, r.Count(Reset), r.Sent, r.Errors)
		}
	}
}

func TestTimeoutAndSkipped(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := run(t, Options{URL: srv.URL, Rate: 100, Duration: 300 * time.Millisecond, Concurrency: 2, Timeout: 50 * time.Millisecond})
	if r.Sent == 0 || r.Count(Timeout) != r.Sent {
		t.Errorf("timeouts %d of %d sent; want all (errors %q)", r.Count(Timeout), r.Sent, r.Errors)
	}
	if r.Scheduled != 30 {
		t.Errorf("scheduled %d; want 100/s x 0.3 s = 30", r.Scheduled)
	}
	// Two slots held 50 ms each can start at most about 2 x 300/50 = 12
	// requests of 30 with room to spare for a slow machine: some must be
	// skipped, since a request waits for a slot no more than it waits for
	// its due time.
	if r.Skipped == 0 {
		t.Errorf("nothing skipped with 2 slots held 50 ms each at 100/s")
	}
}

func TestTCPEcho(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var flip atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if flip.Add(1)%2 == 0 {
					_, _ = io.Copy(c, c)
					return
				}
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				_, _ = c.Write([]byte(strings.Repeat("x", n)))
			}()
		}
	}()
	r := run(t, Options{Addr: l.Addr().String(), Rate: 200, Duration: 200 * time.Millisecond})
	if r.Count(OK)+r.Count(Other) != r.Sent || r.Count(OK) == 0 || r.Count(Other) == 0 {
		t.Errorf("want ok from the echoing connections and other from the wrong ones; got %v", r.Counts)
	}
}

func TestCancelEndsTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	r, err := Run(ctx, Options{URL: srv.URL, Rate: 100, Duration: time.Minute, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scheduled >= 6000 || r.Sent == 0 || r.Count(Canceled) != r.Sent || r.Failed() != 0 {
		t.Errorf("after a cancel: %v; want a few sent, all canceled, none failed", r)
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{Rate: 1, Duration: time.Second},
		{URL: "http://x/", Addr: "x:1", Rate: 1, Duration: time.Second},
		{URL: "ftp://x/", Rate: 1, Duration: time.Second},
		{URL: "http://x/", Rate: 0, Duration: time.Second},
		{URL: "http://x/", Rate: MaxRate + 1, Duration: time.Second},
		{URL: "http://x/", Rate: 1, Duration: MaxDuration + time.Second},
		{URL: "http://x/", Rate: 1, Duration: time.Second, Concurrency: -1},
		{URL: "http://x/", Rate: 1, Duration: time.Second, Timeout: 2 * MaxTimeout},
		{URL: "http://x/", Rate: 1, Duration: time.Millisecond},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestMaxRequestsCapsTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	r := run(t, Options{URL: srv.URL, Rate: 1000, Duration: time.Minute, MaxRequests: 20})
	if r.Scheduled != 20 {
		t.Errorf("scheduled %d; want MaxRequests 20", r.Scheduled)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	want := Percentiles{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if p != want {
		t.Errorf("percentiles of 1..100 ms = %+v; want %+v", p, want)
	}
	if p := percentiles([]time.Duration{7}); p.P50 != 7 || p.P99 != 7 {
		t.Errorf("one sample: %+v", p)
	}
	if p := percentiles(nil); p != (Percentiles{}) {
		t.Errorf("no samples: %+v", p)
	}
}
