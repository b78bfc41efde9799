package debounce

import (
	"testing"
	"time"
)

func TestBurstWaitsForQuietUpToMax(t *testing.T) {
	b := Burst{Quiet: 100 * time.Millisecond, Max: time.Second}
	t0 := time.Unix(1000, 0)
	if d := b.Change(t0); d != 100*time.Millisecond {
		t.Fatalf("first change: wait %s, want the quiet spell", d)
	}
	// Each change pushes the action back by the quiet spell...
	if d := b.Change(t0.Add(50 * time.Millisecond)); d != 100*time.Millisecond {
		t.Fatalf("second change: wait %s", d)
	}
	// ...but not past Max after the first change.
	if d := b.Change(t0.Add(950 * time.Millisecond)); d != 50*time.Millisecond {
		t.Fatalf("near the bound: wait %s, want 50ms", d)
	}
	if d := b.Change(t0.Add(1200 * time.Millisecond)); d != 0 {
		t.Fatalf("past the bound: wait %s, want 0", d)
	}
	// Done ends the burst: the next change starts a new one.
	b.Done()
	if d := b.Change(t0.Add(1300 * time.Millisecond)); d != 100*time.Millisecond {
		t.Fatalf("new burst: wait %s, want the quiet spell", d)
	}
	if d := b.Change(t0.Add(2250 * time.Millisecond)); d != 50*time.Millisecond {
		t.Fatalf("new burst's bound counts from its own first change: wait %s, want 50ms", d)
	}
}
