package throttle

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest(cfg Config) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	return New(cfg), c
}

func TestBlocksAfterFailuresWithBackoff(t *testing.T) {
	l, c := newTest(Config{Failures: 3, Window: time.Minute, Block: time.Minute, MaxBlock: 4 * time.Minute})
	for i := range 2 {
		if d := l.Fail("a"); d != 0 {
			t.Fatalf("failure %d blocked for %v", i+1, d)
		}
	}
	if _, blocked := l.Blocked("a"); blocked {
		t.Fatal("blocked before the limit")
	}
	if d := l.Fail("a"); d != time.Minute {
		t.Fatalf("third failure: blocked for %v, want 1m", d)
	}
	if d, blocked := l.Blocked("a"); !blocked || d != time.Minute {
		t.Fatalf("Blocked: %v %v", d, blocked)
	}
	if _, blocked := l.Blocked("b"); blocked {
		t.Fatal("another source is blocked too")
	}
	// Failing on while refused does not extend the block.
	c.advance(30 * time.Second)
	if d := l.Fail("a"); d != 30*time.Second {
		t.Fatalf("failure while blocked: %v", d)
	}
	// Once it ends, three more failures block for twice as long, then
	// four times, then the cap.
	block := 30 * time.Second // what is left of the first
	for _, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		c.advance(block)
		if _, blocked := l.Blocked("a"); blocked {
			t.Fatal("still blocked after the block")
		}
		var d time.Duration
		for range 3 {
			d = l.Fail("a")
		}
		if d != want {
			t.Fatalf("blocked for %v, want %v", d, want)
		}
		block = d
	}
	// Quiet for MaxBlock after the block: afresh.
	c.advance(block + 4*time.Minute)
	for range 2 {
		l.Fail("a")
	}
	if d := l.Fail("a"); d != time.Minute {
		t.Fatalf("after a quiet spell: blocked for %v, want 1m", d)
	}
}

func TestFailuresOutsideTheWindowDoNotCount(t *testing.T) {
	l, c := newTest(Config{Failures: 3, Window: time.Minute})
	for range 10 {
		l.Fail("a")
		l.Fail("a")
		c.advance(time.Minute)
	}
	if _, blocked := l.Blocked("a"); blocked {
		t.Fatal("two failures a minute blocked the source")
	}
}

// TestTableIsBounded fails from many more sources than the cap: the table
// stays at the cap, the most recent sources stay blocked, and the heap
// does not grow with the number of sources.
func TestTableIsBounded(t *testing.T) {
	const cap = 1000
	l, _ := newTest(Config{Failures: 1, MaxSources: cap})
	var before, after runtime.MemStats
	for i := range 100_000 {
		l.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255))
		if i == 2*cap {
			runtime.GC()
			runtime.ReadMemStats(&before)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := l.Len(); n != cap {
		t.Fatalf("%d sources in the table, want the cap %d", n, cap)
	}
	if _, blocked := l.Blocked("10.1.134.159"); !blocked { // the last one (99999)
		t.Fatal("the most recent source is not blocked")
	}
	if _, blocked := l.Blocked("10.0.0.0"); blocked {
		t.Fatal("the oldest source was not evicted")
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("the heap grew by %d bytes over 98000 more sources", grew)
	}
}

func TestSource(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5123":             "192.0.2.7",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":           "fe80::/64",
		"192.0.2.8":                  "192.0.2.8",
		"@":                          "@",
	} {
		if got := Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}
