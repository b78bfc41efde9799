package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

// monitor marks Deployed nodes that stopped heartbeating Unreachable.
func (g *Gateway) monitor(ctx context.Context) {
	every := min(time.Second, g.cfg.HeartbeatGrace/2)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.checkHeartbeats(ctx)
		}
	}
}

func (g *Gateway) checkHeartbeats(ctx context.Context) {
	now := time.Now()
	var silent []string
	g.mu.Lock()
	for id, nl := range g.nodes {
		if nl.state == api.NodeDeployed && now.Sub(nl.lastSeen) > g.cfg.HeartbeatGrace {
			silent = append(silent, id)
		}
	}
	g.mu.Unlock()
	for _, id := range silent {
		msg := fmt.Sprintf("no heartbeat for %s", g.cfg.HeartbeatGrace)
		if err := g.setNodeState(ctx, id, api.NodeDeployed, api.NodeUnreachable, msg); err != nil && ctx.Err() == nil {
			g.log.Warn("mark node unreachable", "node", id, "err", err)
		}
	}
}

// fresh reports whether node was heard from within the grace.
func (g *Gateway) fresh(node string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	nl := g.nodes[node]
	return nl != nil && time.Since(nl.lastSeen) <= g.cfg.HeartbeatGrace
}

// setNodeState moves node from one state to another, with an event, if it
// is still in the from state (and, going Unreachable, still silent).
func (g *Gateway) setNodeState(ctx context.Context, id string, from, to api.NodeState, msg string) error {
	var n api.Node
	err := g.store.Modify(ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		if n.State != from {
			return nil, store.ErrNoChange
		}
		if to == api.NodeUnreachable && g.fresh(id) {
			return nil, store.ErrNoChange
		}
		ev, _, err := lifecycle.MoveNode(&n, to, msg)
		if err != nil {
			return nil, err
		}
		n.LastSeen = g.lastSeen(id)
		return []api.Event{ev}, nil
	})
	if err != nil {
		return err
	}
	g.noteState(id, n.State)
	if n.State == to {
		g.log.Info("node state", "node", id, "state", to, "why", msg)
	}
	return nil
}

func (g *Gateway) lastSeen(node string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if nl := g.nodes[node]; nl != nil && !nl.lastSeen.IsZero() {
		return nl.lastSeen.UTC()
	}
	return time.Now().UTC()
}

// hello records an agent's facts (never its labels: those are the user's),
// makes its node Deployed (unless it is being removed) and writes the
// statuses of the containers it reports. The clock offset is the agent's
// time in the hello minus the gateway's when it arrived.
func (g *Gateway) hello(ctx context.Context, id string, h api.AgentHello) (*api.Node, error) {
	received := time.Now()
	g.touch(id)
	var n api.Node
	err := g.store.Modify(ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		if h.Hostname != "" {
			n.Hostname = h.Hostname
		}
		n.Addresses = h.Addresses
		n.OverlayAddress = h.OverlayAddress
		n.Address = h.Address
		n.WitnessPort = h.WitnessPort
		n.OS, n.Kernel, n.Arch, n.CPUs, n.MemoryBytes = h.OS, h.Kernel, h.Arch, h.CPUs, h.MemoryBytes
		n.DiskBytes, n.EngineVersion = h.DiskBytes, h.EngineVersion
		n.ClockOffsetMS = 0
		if !h.Time.IsZero() {
			n.ClockOffsetMS = h.Time.Sub(received).Milliseconds()
		}
		n.AgentVersion = h.AgentVersion
		n.Drivers = slices.Clone(h.Drivers)
		n.AllowBuilds = h.AllowBuilds
		n.LastSeen = time.Now().UTC()
		var events []api.Event
		switch n.State {
		case api.NodeDeploying, api.NodeUnreachable, api.NodeDeployed, "":
			ev, moved, err := lifecycle.MoveNode(&n, api.NodeDeployed, fmt.Sprintf("agent %s connected", h.AgentVersion))
			if err != nil {
				return nil, err
			}
			if moved {
				events = append(events, ev)
			}
		}
		return events, nil
	})
	if err != nil {
		return nil, fmt.Errorf("hello: write node %s: %w", id, err)
	}
	g.noteState(id, n.State)
	g.log.Info("agent said hello", "node", id, "state", n.State, "version", h.AgentVersion, "containers", len(h.Containers))
	if err := g.applyReports(ctx, id, h.Containers); err != nil {
		return nil, fmt.Errorf("hello: write container statuses: %w", err)
	}
	return &n, nil
}
