// Package memtrim returns the heap's free memory to the system once a
// burst of allocation is over.
//
// After a burst (a placement of thousands of containers, a rejoin storm)
// the Go runtime keeps the pages the burst's garbage held, free but
// resident, and its background scavenger gives them back only down to
// about a tenth above the heap goal, slowly: a server of 130 MB live heap
// at GOGC=50 kept 5 to 66 MB of free heap resident after a placement
// (docs/benchmarks.md). Run reads the runtime's figures every tick; once
// allocation has been quiet for a while, it collects and returns the free
// pages at once (debug.FreeOSMemory): after a burst that allocated half
// the heap again, and otherwise when enough of the heap is free, at most
// once per MinGap.
package memtrim

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Options tune Run; the zero value of a field takes its default.
type Options struct {
	// Tick is how often the runtime's figures are read (default 1 s).
	Tick time.Duration
	// QuietTicks is how many ticks in a row allocation must stay under
	// QuietBytes per tick for the burst to count as over (default 2).
	QuietTicks int
	// QuietBytes is the most a quiet tick allocates (default 8 MB).
	QuietBytes uint64
	// MinFree is the least free, unreturned heap worth a trim without a
	// burst before it (default 16 MB); it must also be a quarter of the
	// heap's objects.
	MinFree uint64
	// MinGap is the least time between trims (default 30 s; each costs a
	// collection), unless a burst (a tick over QuietBytes) came since the
	// last one: then BurstGap (default 5 s). So a trim before a burst
	// (after the joins of a thousand nodes, say) does not hold back the
	// one after it.
	MinGap   time.Duration
	BurstGap time.Duration
}

func (o Options) withDefaults() Options {
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.QuietTicks <= 0 {
		o.QuietTicks = 2
	}
	if o.QuietBytes == 0 {
		o.QuietBytes = 8 << 20
	}
	if o.MinFree == 0 {
		o.MinFree = 16 << 20
	}
	if o.MinGap <= 0 {
		o.MinGap = 30 * time.Second
	}
	if o.BurstGap <= 0 {
		o.BurstGap = 5 * time.Second
	}
	return o
}

// sample is what a Trimmer reads at a tick.
type sample struct {
	allocs  uint64 // bytes allocated since the start, cumulative
	free    uint64 // heap memory free and not returned to the system
	objects uint64 // heap memory held by objects, live or not yet swept
}

// trimmer decides, tick by tick, whether to trim.
type trimmer struct {
	o        Options
	prev     uint64 // allocs at the tick before
	quiet    int    // quiet ticks in a row
	burst    bool   // a tick over QuietBytes came since the last trim
	started  bool
	lastTrim time.Time
	trimmed  uint64 // allocs at the last trim (or the first tick)
}

// tick takes a tick's sample and tells whether to trim now.
func (t *trimmer) tick(now time.Time, s sample) bool {
	if !t.started {
		t.started, t.prev, t.trimmed = true, s.allocs, s.allocs
		return false
	}
	if s.allocs-t.prev <= t.o.QuietBytes {
		t.quiet++
	} else {
		t.quiet, t.burst = 0, true
	}
	t.prev = s.allocs
	if t.quiet < t.o.QuietTicks {
		return false
	}
	// Free spans are what a trim returns at once. After a burst that
	// allocated half the heap again, its garbage may still sit in spans
	// in use, to be freed by a collection that, quiet, may not come for
	// minutes (Go forces one every two): the trim's own collection frees
	// them.
	freeEnough := s.free >= t.o.MinFree && s.free >= s.objects/4
	burstGarbage := t.burst && s.allocs-t.trimmed >= s.objects/2
	if !freeEnough && !burstGarbage {
		return false
	}
	gap := t.o.MinGap
	if t.burst {
		gap = t.o.BurstGap
	}
	if !t.lastTrim.IsZero() && now.Sub(t.lastTrim) < gap {
		return false
	}
	t.lastTrim, t.burst, t.trimmed = now, false, s.allocs
	return true
}

var names = []string{"/gc/heap/allocs:bytes", "/memory/classes/heap/free:bytes", "/memory/classes/heap/objects:bytes"}

// read takes a sample of the runtime's figures into buf.
func read(buf []metrics.Sample) sample {
	metrics.Read(buf)
	v := func(i int) uint64 {
		if buf[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return buf[i].Value.Uint64()
	}
	return sample{allocs: v(0), free: v(1), objects: v(2)}
}

// Run trims the heap after bursts until ctx ends.
func Run(ctx context.Context, log *slog.Logger, o Options) {
	o = o.withDefaults()
	t := &trimmer{o: o}
	buf := make([]metrics.Sample, len(names))
	for i, n := range names {
		buf[i].Name = n
	}
	tk := time.NewTicker(o.Tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			s := read(buf)
			if !t.tick(now, s) {
				continue
			}
			debug.FreeOSMemory()
			after := read(buf)
			t.prev = after.allocs
			log.Debug("returned the heap's free memory to the system after a burst",
				"free_before_bytes", s.free, "free_after_bytes", after.free, "objects_bytes", after.objects)
		}
	}
}
