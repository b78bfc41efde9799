package load

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is how one request ended.
type Kind int

// The ways a request ends.
const (
	OK        Kind = iota // a 2xx answer read whole (TCP: the payload echoed back)
	Refused               // the connection was refused (nothing listens)
	Reset                 // the connection broke: reset, or closed before the answer ended
	Timeout               // no whole answer within Options.Timeout
	Status5xx             // an HTTP 5xx answer
	Other                 // anything else: another status, a wrong echo, an unexpected error
	Canceled              // in flight when Run's context ended: not a failure
)

var kindNames = [...]string{"ok", "refused", "reset", "timeout", "5xx", "other", "canceled"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Result is what one run saw.
type Result struct {
	// Scheduled is the requests that came due: Sent plus Skipped.
	Scheduled int
	// Sent is the requests started: OK, the failures and Canceled.
	Sent int
	// Skipped is the requests that came due while Concurrency requests
	// were in flight, and were not sent: the target was slower than the
	// rate allows. Not counted as failures, but worth reporting.
	Skipped int
	// Counts of each way a sent request ended, indexed by Kind.
	Counts [Canceled + 1]int
	// Statuses counts the HTTP statuses of the answers read.
	Statuses map[int]int
	// Latency of the OK requests, from when each started (at most a
	// dispatch late: see minSleep) to its answer read whole.
	Latency Percentiles
	// Seconds is, per second of the run (by when each request started),
	// the requests that ended OK and that failed: where in a rollout the
	// failures were.
	Seconds []Second
	// Errors is the first few distinct errors of failed requests, for
	// diagnosis.
	Errors []string
	// Elapsed is from the first request started to the last one ended.
	Elapsed time.Duration
}

// Second is one second of a run.
type Second struct {
	OK, Failed int
}

// Percentiles of a set of latencies (nearest rank); zero when empty.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// Count is the requests that ended as k.
func (r Result) Count(k Kind) int {
	if k < 0 || int(k) >= len(r.Counts) {
		return 0
	}
	return r.Counts[k]
}

// Failed is the sent requests that failed (every kind but OK and
// Canceled).
func (r Result) Failed() int {
	n := 0
	for k := Refused; k <= Other; k++ {
		n += r.Counts[k]
	}
	return n
}

// String is the result in one line, for a test's log.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d, ok %d, failed %d (", r.Sent, r.Counts[OK], r.Failed())
	for k := Refused; k <= Other; k++ {
		if k > Refused {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, r.Counts[k])
	}
	fmt.Fprintf(&b, "), skipped %d, canceled %d in %v; ok latency p50 %v p90 %v p99 %v max %v",
		r.Skipped, r.Counts[Canceled], r.Elapsed.Round(time.Millisecond),
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	return b.String()
}

// percentiles of ds (sorted in place).
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1 // nearest rank: ceil(p*n)-1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Percentiles{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ds[len(ds)-1]}
}

const maxErrors = 10

// collector gathers the outcomes of a run's requests.
type collector struct {
	mu       sync.Mutex
	res      Result
	oks      []time.Duration
	errSeen  map[string]bool
	skipped  int
	lastDone time.Time
}

func newCollector(total int) *collector {
	return &collector{
		res:     Result{Statuses: map[int]int{}},
		oks:     make([]time.Duration, 0, min(total, 1<<16)),
		errSeen: map[string]bool{},
	}
}

// outcome is how one request ended.
type outcome struct {
	kind   Kind
	status int   // HTTP status, when an answer came
	err    error // why it failed, when it did
}

func (c *collector) add(second int, o outcome, latency time.Duration, done time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Sent++
	c.res.Counts[o.kind]++
	if o.status != 0 {
		c.res.Statuses[o.status]++
	}
	if done.After(c.lastDone) {
		c.lastDone = done
	}
	if o.kind == Canceled {
		return
	}
	for len(c.res.Seconds) <= second {
		c.res.Seconds = append(c.res.Seconds, Second{})
	}
	if o.kind == OK {
		c.oks = append(c.oks, latency)
		c.res.Seconds[second].OK++
		return
	}
	c.res.Seconds[second].Failed++
	if o.err != nil && len(c.res.Errors) < maxErrors {
		msg := o.kind.String() + ": " + o.err.Error()
		if !c.errSeen[msg] {
			c.errSeen[msg] = true
			c.res.Errors = append(c.res.Errors, msg)
		}
	}
}

func (c *collector) skip() {
	c.mu.Lock()
	c.skipped++
	c.mu.Unlock()
}

// result is the run's Result; call it once every request has ended.
func (c *collector) result(start time.Time) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.res
	r.Skipped = c.skipped
	r.Scheduled = r.Sent + r.Skipped
	r.Latency = percentiles(c.oks)
	if !c.lastDone.IsZero() {
		r.Elapsed = c.lastDone.Sub(start)
	}
	sort.Strings(r.Errors)
	return r
}
