package dockerapi

import (
	"context"
	"testing"
	"time"
)

// TestPendingTTYs: a resize is held while its attach waits, not once it
// is on the node, nor for a container no attach waits for; a later
// attach to the same reference does not lose its own registration to
// the end of an earlier one.
func TestPendingTTYs(t *testing.T) {
	var p pendingTTYs
	if p.hold("box", 30, 100) {
		t.Error("a resize with no waiting attach was held")
	}
	first := p.add("box")
	if !p.hold("box", 30, 100) || first.height != 30 || first.width != 100 {
		t.Errorf("a resize of a waiting attach was not held: %+v", first)
	}
	second := p.add("box")
	p.remove("box", first)
	if !p.hold("box", 40, 120) || second.height != 40 {
		t.Errorf("the second attach lost its registration: %+v", second)
	}
	second.attached = true
	if p.hold("box", 50, 80) {
		t.Error("a resize of an attach on the node was held")
	}
	p.remove("box", second)
	if len(p.m) != 0 {
		t.Errorf("registrations left: %v", p.m)
	}
}

// TestPendingTTYWaitsForTheFirstResize: an attach on its node waits for
// the client's first resize (it comes right after docker's start call)
// and takes it, and no longer than its bound when none comes; a second
// resize while it waits is held too.
func TestPendingTTYWaitsForTheFirstResize(t *testing.T) {
	var p pendingTTYs
	tty := p.add("box")
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.hold("box", 30, 100)
		p.hold("box", 31, 101)
	}()
	tty.waitSized(context.Background(), time.Minute)
	p.mu.Lock()
	h := tty.height
	p.mu.Unlock()
	if h != 30 && h != 31 {
		t.Errorf("the wait ended without the resize: height %d", h)
	}
	none := p.add("other")
	start := time.Now()
	none.waitSized(context.Background(), 10*time.Millisecond)
	if none.height != 0 || time.Since(start) > 30*time.Second {
		t.Errorf("a wait with no resize: height %d after %v", none.height, time.Since(start))
	}
}
