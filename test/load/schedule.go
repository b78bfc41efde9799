package load

import (
	"context"
	"sync"
	"time"
)

// sender makes one request (the i-th of the run) and says how it ended.
type sender interface {
	do(ctx context.Context, i int) outcome
	close()
}

// minSleep is the shortest wait between dispatches: requests due sooner
// than this are sent together, so a high rate costs no more wake-ups than
// this allows.
const minSleep = 500 * time.Microsecond

// schedule starts o.total() requests at o.Rate per second, each in its own
// goroutine while a slot of o.Concurrency is free (skipped otherwise),
// and waits for them all.
func schedule(ctx context.Context, o Options, send sender) Result {
	total := o.total()
	c := newCollector(total)
	slots := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	start := time.Now()
	due := func(i int) time.Duration { return time.Duration(float64(i) * float64(time.Second) / float64(o.Rate)) }
	stopped := false
	for i := 0; i < total && !stopped; {
		if wait := due(i) - time.Since(start); wait > 0 {
			timer.Reset(max(wait, minSleep))
			select {
			case <-ctx.Done():
				stopped = true
				continue
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		for now := time.Since(start); i < total && due(i) <= now; i++ {
			select {
			case slots <- struct{}{}:
			default:
				c.skip()
				continue
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				defer func() { <-slots }()
				began := time.Now()
				rctx, cancel := context.WithTimeout(ctx, o.Timeout)
				out := send.do(rctx, i)
				cancel()
				done := time.Now()
				if out.kind != OK && ctx.Err() != nil {
					out = outcome{kind: Canceled}
				}
				c.add(int(began.Sub(start)/time.Second), out, done.Sub(began), done)
			}(i)
		}
	}
	wg.Wait()
	return c.result(start)
}
