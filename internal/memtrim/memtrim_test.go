package memtrim

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestTrimsOnlyAfterQuietSpells: a trim comes once allocation has been
// quiet for QuietTicks ticks and enough of the heap is free (MinFree, and
// a quarter of the objects), never during a burst; without a burst since
// the last trim, never twice within MinGap; after one, BurstGap is
// enough, and a burst that allocated half the heap again is trimmed even
// with little free (its collection frees it).
func TestTrimsOnlyAfterQuietSpells(t *testing.T) {
	const mb = 1 << 20
	tr := &trimmer{o: Options{}.withDefaults()}
	now := time.Unix(0, 0)
	var allocs uint64
	step := func(alloc, free, objects uint64) bool {
		now = now.Add(time.Second)
		allocs += alloc
		return tr.tick(now, sample{allocs: allocs, free: free * mb, objects: objects * mb})
	}
	if step(0, 100, 100) {
		t.Fatal("trimmed at the first tick, with no history")
	}
	for i := range 5 { // a burst: 100 MB a second
		if step(100*mb, 60, 130) {
			t.Fatalf("trimmed during a burst, at tick %d", i)
		}
	}
	if step(1*mb, 60, 130) {
		t.Fatal("trimmed after one quiet tick; want two")
	}
	if !step(1*mb, 60, 130) {
		t.Fatal("no trim after two quiet ticks with 60 MB free of 130 MB")
	}
	for i := range 29 { // within MinGap
		if step(1*mb, 60, 130) {
			t.Fatalf("trimmed again %d s after a trim", i+1)
		}
	}
	if !step(1*mb, 60, 130) {
		t.Fatal("no trim once MinGap had passed")
	}
	// A burst 4 s after a trim: the trim after it (6 s after the last)
	// waits for BurstGap, not MinGap.
	for range 3 {
		step(1*mb, 60, 130)
	}
	if step(100*mb, 60, 130) || step(1*mb, 60, 130) {
		t.Fatal("trimmed during a burst or after one quiet tick")
	}
	if !step(1*mb, 60, 130) {
		t.Fatal("no trim after a burst, 6 s after the last trim")
	}

	// A burst whose garbage is still in spans in use (little free):
	// trimmed once quiet if it allocated half the heap again, not if
	// less.
	tr = &trimmer{o: Options{}.withDefaults()}
	step(0, 0, 0)
	step(50*mb, 2, 130)
	step(0, 2, 130)
	if step(0, 2, 130) {
		t.Error("trimmed after a burst of 50 MB, under half of 130 MB of objects, with 2 MB free")
	}
	step(20*mb, 2, 130) // another burst: 70 MB since the start
	step(0, 2, 130)
	if !step(0, 2, 130) {
		t.Error("no trim after bursts of 70 MB in all, over half of 130 MB of objects, with 2 MB free")
	}

	tr = &trimmer{o: Options{MinGap: time.Nanosecond}.withDefaults()}
	step(0, 0, 0)
	step(0, 0, 0)
	if step(0, 15, 10) {
		t.Error("trimmed with less than MinFree free")
	}
	if step(0, 20, 100) {
		t.Error("trimmed with less free than a quarter of the objects")
	}
	if !step(0, 30, 100) {
		t.Error("no trim with 30 MB free of 100 MB after quiet ticks")
	}
}

// TestRunReturnsFreeMemory: after a burst's garbage is collected, its
// pages stay free and resident (the runtime's scavenger returns them at
// about a megabyte in seconds); Run returns them once allocation is quiet.
func TestRunReturnsFreeMemory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	burst(64 << 20)
	runtime.GC()
	buf := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	free := func() uint64 { metrics.Read(buf); return buf[0].Value.Uint64() }
	if f := free(); f < 32<<20 {
		t.Fatalf("only %d bytes free after the burst's collection; the test needs 32 MB", f)
	}
	go Run(ctx, slog.New(slog.DiscardHandler), Options{Tick: 20 * time.Millisecond, MinGap: time.Hour})
	deadline := time.Now().Add(5 * time.Second)
	for free() > 8<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of the heap still free and not returned after 5 s", free())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// held keeps burst's allocations live until it returns.
var held [][]byte

// burst holds n bytes at once in 256 KB pieces, all garbage once it
// returns.
func burst(n int) {
	for range n / (256 << 10) {
		held = append(held, make([]byte, 256<<10))
	}
	held = nil
}
