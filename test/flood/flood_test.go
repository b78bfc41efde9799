package flood

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testserver"
)

const (
	workers     = 8
	defaultN    = 10_000
	hardLimit   = 20 * time.Minute // whatever N, the flood stops here
	heapSlackMB = 64
	// auditBytes is the heap each request may keep for good: every
	// authenticated mutating call is recorded as an action, stored in etcd
	// with no retention, and etcd keeps an index entry per key in memory
	// (0.63 KB per recorded action, measured; see docs/reliability.md).
	auditBytes = 1024
)

// offense is a request whose answer broke an invariant.
type offense struct {
	req    request
	status int
	answer string
}

func (o offense) String() string {
	body := o.req.body
	if len(body) > 80 {
		body = body[:80]
	}
	path := o.req.path
	if len(path) > 120 {
		path = path[:120] + "..."
	}
	return fmt.Sprintf("%s %s (%s, If-Match %q, body %d bytes %q): %d %s",
		o.req.method, path, kindNames[o.req.kind], o.req.ifMatch, len(o.req.body), body, o.status, o.answer)
}

// TestFlood sends malformed requests from several workers: no answer may be
// a 5xx, bad auth must get 401 and bodies over the limit 413; the server
// must survive with its heap back near where it started. Requests that may
// fail authentication (bad auth, joins) come from another loopback address,
// 127.0.0.2: the server throttles that address once it has failed often
// enough (429, which those requests may get), and must never throttle the
// address the well-authenticated requests come from.
func TestFlood(t *testing.T) {
	n := defaultN
	if v := os.Getenv("WHARF_FLOOD_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("WHARF_FLOOD_N=%q: want a positive integer", v)
		}
	}
	seed := uint64(1)
	if v := os.Getenv("WHARF_FLOOD_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	srv := testserver.Start(t, testserver.Options{})
	rs := routes(t)
	hc := srv.NewHTTP(30*time.Second, workers)
	suspect := srv.NewHTTP(30*time.Second, workers)
	from := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	suspect.Transport.(*http.Transport).DialContext = (&net.Dialer{LocalAddr: from, Timeout: 10 * time.Second}).DialContext
	const service = "flood-target"
	create := fmt.Sprintf(`{"name":%q,"spec":{"command":["sleep","60"],"driver":"fake","replicas":0}}`, service)
	if st, ans, err := send(hc, srv.URL, request{method: "POST", path: "/v1/services", body: []byte(create), auth: "Bearer " + srv.Token()}); err != nil || st != http.StatusCreated {
		t.Fatalf("create %s: %d %s %v", service, st, ans, err)
	}

	heapBefore, rssBefore := settle(t, srv)
	var (
		next, sent, clientErrs atomic.Int64
		mu                     sync.Mutex
		codes                  = map[int]int{}
		offenses               []offense
		nOffenses              int
		firstClientErr         error
	)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			g := newGen(seed, w, rs, srv.Token(), service)
			for next.Add(1) <= int64(n) && time.Since(start) < hardLimit {
				q := g.next()
				c, mayThrottle := hc, q.kind == kindBadAuth || public(q.path)
				if mayThrottle {
					c = suspect
				}
				st, ans, err := send(c, srv.URL, q)
				sent.Add(1)
				mu.Lock()
				switch {
				case err != nil:
					clientErrs.Add(1)
					if firstClientErr == nil {
						firstClientErr = fmt.Errorf("%s %.80s: %w", q.method, q.path, err)
					}
				case st >= 500 || st == http.StatusTooManyRequests && !mayThrottle ||
					q.expect != 0 && st != q.expect && !(mayThrottle && st == http.StatusTooManyRequests):
					nOffenses++
					if len(offenses) < 10 {
						offenses = append(offenses, offense{q, st, ans})
					}
				}
				if err == nil {
					codes[st]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	alive := srv.Alive()
	heapAfter, rssAfter := settle(t, srv)

	var hist []string
	for _, c := range slices.Sorted(maps.Keys(codes)) {
		hist = append(hist, fmt.Sprintf("%d: %d", c, codes[c]))
	}
	t.Logf("%d requests (seed %d) in %s: %.0f req/s; %d client-side errors; statuses {%s}",
		sent.Load(), seed, took.Round(time.Millisecond), float64(sent.Load())/took.Seconds(), clientErrs.Load(), strings.Join(hist, ", "))
	t.Logf("server heap in use %.1f MB before, %.1f MB after; RSS %.1f MB before, %.1f MB after",
		heapBefore/(1<<20), heapAfter/(1<<20), rssBefore/(1<<20), rssAfter/(1<<20))
	if firstClientErr != nil {
		t.Logf("first client-side error: %v", firstClientErr)
	}
	for _, o := range offenses {
		t.Errorf("%s", o)
	}
	if nOffenses > 0 {
		t.Errorf("%d answers broke an invariant (5xx, not the 401/413 due, or 429 to the address that never failed); the first %d above", nOffenses, len(offenses))
	}
	if !alive {
		t.Fatalf("the server died during the flood: %v", srv.ProcessState())
	}
	if err := srv.Get("/livez"); err != nil {
		t.Fatalf("the server does not answer after the flood: %v", err)
	}
	if sent.Load() < int64(n) {
		t.Errorf("only %d of %d requests sent within %s", sent.Load(), n, hardLimit)
	}
	t.Logf("heap kept: %.0f bytes per request", (heapAfter-heapBefore)/float64(sent.Load()))
	if bound := heapBefore + heapSlackMB<<20 + float64(auditBytes*sent.Load()); heapAfter > bound {
		t.Errorf("heap in use %.1f MB after the flood, %.1f MB before: more than %d MB plus %d bytes per request (%.1f MB) kept",
			heapAfter/(1<<20), heapBefore/(1<<20), heapSlackMB, auditBytes, bound/(1<<20))
	}
}

// settle waits for the server's garbage to be collected (a few seconds of
// quiet, /metrics read twice) and returns its heap in use and RSS.
func settle(t *testing.T, srv *testserver.Server) (heap, rss float64) {
	t.Helper()
	time.Sleep(3 * time.Second)
	if _, err := srv.Metric("go_memstats_heap_inuse_bytes"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	heap, err := srv.Metric("go_memstats_heap_inuse_bytes")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := srv.RSS() // 0 where there is no /proc
	return heap, float64(b)
}

// send sends q as is (its path is the raw request target) and returns the
// status and the start of the answer.
func send(hc *http.Client, base string, q request) (int, string, error) {
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequest(q.method, base+"/", body)
	if err != nil {
		return 0, "", err
	}
	req.URL.Opaque = q.path
	if q.auth != "" {
		req.Header.Set("Authorization", q.auth)
	}
	if q.ifMatch != "" {
		req.Header.Set("If-Match", q.ifMatch)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, strings.TrimSpace(string(ans)), nil
}
