package dockerapi

import "testing"

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
