package controller

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestNodeLossClockRestarts: a node's loss counts from its last heartbeat,
// but never from before the controller started: a restarted (or newly
// active) server waits a whole grace, so that agents, which fence on their
// own clock from their last acknowledged heartbeat, stop their copies
// first.
func TestNodeLossClockRestarts(t *testing.T) {
	now := time.Now()
	c := &Services{cache: newCache(), downSince: map[string]time.Time{}, lossGrace: 11 * time.Second, started: now.Add(-2 * time.Second)}
	c.cache.nodes["old"] = &api.Node{Meta: api.Meta{ID: "old"}, State: api.NodeUnreachable, LastSeen: now.Add(-time.Minute)}
	c.cache.nodes["new"] = &api.Node{Meta: api.Meta{ID: "new"}, State: api.NodeUnreachable, LastSeen: now.Add(-time.Second)}
	next := c.reaper().trackDown(now)
	if got := c.downSince["old"]; !got.Equal(c.started) {
		t.Errorf("a node silent since before the start is down since %s, want the start %s", got, c.started)
	}
	if got := c.downSince["new"]; !got.Equal(now.Add(-time.Second)) {
		t.Errorf("a node silent since after the start is down since %s, want its LastSeen", got)
	}
	if want := c.started.Add(c.lossGrace); !next.Equal(want) {
		t.Errorf("next loss at %s, want %s (the start plus the grace)", next, want)
	}
	ct := &api.Container{Spec: api.ContainerSpec{Node: "old"}}
	if c.nodeDown(ct) {
		t.Error("a node was given up 2 s after the controller started")
	}
}

// TestFenceOnLossMarksWhatMoves: the containers the controller would run
// elsewhere are the ones their agent fences.
func TestFenceOnLossMarksWhatMoves(t *testing.T) {
	for _, tt := range []struct {
		spec api.ServiceSpec
		want bool
	}{
		{api.ServiceSpec{Replicas: 3}, true},
		{api.ServiceSpec{Strategy: api.StrategyEveryNode}, false},
		{api.ServiceSpec{Standalone: true}, false},
		{api.ServiceSpec{Standalone: true, Reschedule: api.RescheduleOnNodeFailure}, true},
	} {
		if got := movesOnNodeLoss(&api.Service{Spec: tt.spec}); got != tt.want {
			t.Errorf("%+v: movesOnNodeLoss = %v, want %v", tt.spec, got, tt.want)
		}
	}
}
