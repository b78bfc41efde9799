package controller

import (
	"context"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

// reapKey is a dirty-set entry that is no service ID: it asks for a pass so
// that drained nodes are reaped even when no service changed.
const reapKey = "\x00nodes"

// markReap asks for a pass if some node is being drained (Terminating,
// or of availability drain), or keeps a DrainWaiting to clear.
func (c reaper) markReap() {
	for _, n := range c.cache.nodes {
		if n.Draining() || n.DrainWaiting != "" {
			c.dirty[reapKey] = true
			return
		}
	}
}

// reapNodes deletes every Terminating node that no container is placed on
// any more (its slots have moved elsewhere), with an event that says it is
// Terminated, and writes what the drain of every other draining node
// (Terminating, or of availability drain, which stays) waits for. It acts
// only on a cache that holds the controller's own writes, so it never
// deletes a node whose last containers it has just rescheduled but not
// yet seen gone.
func (c reaper) reapNodes(ctx context.Context) {
	if c.waiting() {
		c.markReap() // again once the watch caught up
		return
	}
	busy := map[string]bool{}
	for _, ct := range c.cache.containers {
		if ct.Spec.Node != "" {
			busy[ct.Spec.Node] = true
		}
	}
	ids := make([]string, 0)
	var draining []string
	for id, n := range c.cache.nodes {
		switch {
		case n.State == api.NodeTerminating && !busy[id]:
			ids = append(ids, id)
		case n.Draining() || n.DrainWaiting != "":
			draining = append(draining, id) // Terminating, or availability drain: kept
		}
	}
	slices.Sort(ids)
	slices.Sort(draining)
	for _, id := range draining {
		c.noteDrainWaiting(ctx, id)
	}
	for _, id := range ids {
		n := *c.cache.nodes[id] // a copy: the cache holds what the store has
		ev, _, err := lifecycle.MoveNode(&n, api.NodeTerminated, "node drained: every container moved elsewhere; node removed")
		if err == nil {
			ev.Org = n.Org
			err = c.st.Delete(ctx, store.KindNodes, id, n.Revision, ev)
		}
		switch {
		case err == nil:
			c.log.Info("drained node removed", "node", id)
			c.waitFor(c.cache.rev + 1)
		case lostRace(err):
			c.waitFor(c.cache.rev + 1) // the watch brings the newer node
			c.dirty[reapKey] = true
		case ctx.Err() == nil:
			c.log.Warn("remove drained node; retrying", "node", id, "err", err)
			c.dirty[reapKey] = true
		}
	}
}

// noteDrainWaiting writes to a draining node what its drain waits for
// (drainText), with an event, when that changed; a node no longer
// draining (made active again) waits for nothing.
func (c reaper) noteDrainWaiting(ctx context.Context, id string) {
	n := *c.cache.nodes[id] // a copy: the cache holds what the store has
	text := ""
	if n.Draining() {
		text = c.drainText(id)
	}
	if text == n.DrainWaiting {
		return
	}
	n.DrainWaiting = text
	msg := "draining: every container is moving"
	switch {
	case !n.Draining():
		msg = "no longer draining"
	case n.State != api.NodeTerminating && text == "":
		msg = "drain: no container waits to move"
	}
	if text != "" {
		msg = "draining, waiting for: " + strings.ReplaceAll(text, "\n", "; ")
	}
	err := c.st.Update(ctx, store.KindNodes, &n, api.Event{Kind: "node", Object: id, Org: n.Org, Name: n.Name,
		Type: "drain", State: string(n.State), Message: msg})
	switch {
	case err == nil:
		c.waitFor(c.cache.rev + 1)
	case lostRace(err):
		c.waitFor(c.cache.rev + 1) // the watch brings the newer node
		c.dirty[reapKey] = true
	case ctx.Err() == nil:
		c.log.Warn("note what a drain waits for; retrying", "node", id, "err", err)
		c.dirty[reapKey] = true
	}
}
