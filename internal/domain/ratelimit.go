package domain

import (
	"fmt"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// RateLimitedError refuses a call over its token's rate (the
// organization's Quotas.TokenRate): errors.Is finds
// errdefs.ErrTooManyRequests, and RetryAfter says when to try again.
type RateLimitedError struct {
	msg   string
	after time.Duration
}

func (e *RateLimitedError) Error() string { return e.msg }

// Unwrap makes errors.Is find errdefs.ErrTooManyRequests.
func (e *RateLimitedError) Unwrap() error { return errdefs.ErrTooManyRequests }

// RetryAfter is how long until the token may call again.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.after }

// maxBuckets bounds the rate limiter's memory: past it, idle (full)
// buckets are dropped first, then any.
const maxBuckets = 10000

// tokenLimiter is a token bucket per API token ID, in memory (each API
// server limits the calls it serves).
type tokenLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   float64
}

// allow takes one call from id's bucket of rate per second (burst twice
// the rate, at least 1); it returns 0 when allowed, else how long until
// a call is.
func (l *tokenLimiter) allow(id string, rate float64, now time.Time) time.Duration {
	burst := max(2*rate, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[id]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.evict(now)
		}
		b = &bucket{tokens: burst, last: now, rate: rate}
		l.buckets[id] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(burst, b.tokens+el*rate)
		b.last = now
	}
	b.rate = rate
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// evict drops the buckets that refilled (their tokens are idle), or one
// arbitrary bucket when none did.
func (l *tokenLimiter) evict(now time.Time) {
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate >= max(2*b.rate, 1) {
			delete(l.buckets, id)
		}
	}
	if len(l.buckets) < maxBuckets {
		return
	}
	for id := range l.buckets {
		delete(l.buckets, id)
		return
	}
}

// rateLimited is the error of a call over rate, to retry after wait.
func rateLimited(name string, rate float64, wait time.Duration) error {
	return &RateLimitedError{
		msg:   fmt.Sprintf("token %q made more than %g calls per second, its organization's limit; try again in %s", name, rate, wait.Round(time.Millisecond)),
		after: wait,
	}
}
