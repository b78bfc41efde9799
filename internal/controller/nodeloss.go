package controller

import (
	"time"

	"github.com/wharfhq/wharf/api"
)

// DefaultNodeLossGrace is how long a node may go without a heartbeat (its
// LastSeen) while Unreachable before the controller replaces its running
// containers on other nodes.
// The agents fence (stop the containers the server would replace) after
// api.Assignments.FenceAfterMS, which the gateway sets FenceMargin below
// this grace.
const DefaultNodeLossGrace = 11 * time.Second

// Option tunes a Services controller.
type Option func(*Services)

// WithNodeLossGrace sets how long a node may be Unreachable before its
// containers desired Running are replaced elsewhere (default 11s).
func WithNodeLossGrace(d time.Duration) Option {
	return func(c *Services) {
		if d > 0 {
			c.lossGrace = d
		}
	}
}

// trackDown notes since when each Unreachable node has been out of reach
// (its LastSeen, but never before this controller started: a restarted
// controller waits a whole grace again, so that the agents, which fence
// on their own clock, are never overtaken) and forgets nodes that came
// back. It returns when the next node passes the grace (zero: none).
func (c reaper) trackDown(now time.Time) time.Time {
	var next time.Time
	for id, n := range c.cache.nodes {
		if n.State != api.NodeUnreachable {
			continue
		}
		since, ok := c.downSince[id]
		if !ok {
			// The node has been out of reach since its last heartbeat,
			// which the gateway stores when it marks it Unreachable.
			since = now
			if !n.LastSeen.IsZero() && n.LastSeen.Before(now) {
				since = n.LastSeen
			}
			if since.Before(c.started) {
				since = c.started
			}
			c.downSince[id] = since
		}
		if at := since.Add(c.lossGrace); at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	for id := range c.downSince {
		if n := c.cache.nodes[id]; n == nil || n.State != api.NodeUnreachable {
			delete(c.downSince, id)
		}
	}
	return next
}

// nodeDown: the container's node has been Unreachable for the grace, so its
// slot is run elsewhere. The container stays, desired Terminated, so that
// the agent stops it if the node comes back.
func (c reaper) nodeDown(ct *api.Container) bool {
	since, ok := c.downSince[ct.Spec.Node]
	return ct.Spec.Node != "" && ok && time.Since(since) >= c.lossGrace
}

// nodeDown on Services is the reaper's, for the tests that build a bare
// Services.
func (c *Services) nodeDown(ct *api.Container) bool { return c.reaper().nodeDown(ct) }

// onUnreachableNode: the container's node exists but does not answer.
func (c reaper) onUnreachableNode(ct *api.Container) bool {
	n := c.cache.nodes[ct.Spec.Node]
	return ct.Spec.Node != "" && n != nil && n.State == api.NodeUnreachable
}

// dropLost deletes a container whose node was removed (nodeLost).
func (c reaper) dropLost(it *item) {
	it.del = true
	it.event("deleted", "node "+it.orig.Spec.Node+" is gone")
}

// leaveDownNode takes an EVERY_NODE container off a node down past the
// grace: kept, desired Terminated, so that the agent stops it if the node
// returns; EVERY_NODE does not run it elsewhere.
func (c reaper) leaveDownNode(it *item) {
	it.edit().Spec.Desired = api.ContainerTerminated
	it.event("updated", "node "+c.nodeName(it.orig.Spec.Node)+" unreachable for "+c.lossGrace.String()+": no longer runs this EVERY_NODE service")
}

// replaceOnDownNode gives up a running container on a node down past the
// grace: kept, desired Terminated, so that the agent stops it if the node
// returns, while the slots reconciler creates its slot again elsewhere.
func (c reaper) replaceOnDownNode(it *item) {
	it.edit().Spec.Desired = api.ContainerTerminated
	it.event("updated", "node "+c.nodeName(it.orig.Spec.Node)+" unreachable for "+c.lossGrace.String()+": slot replaced on another node")
}
