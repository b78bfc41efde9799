package gateway

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

const (
	// reportChunk bounds the containers written by one transaction: each
	// may take two operations (object and event).
	reportChunk = store.MaxOps / 2
	// reportAttempts is how often a batch is re-read and retried when a
	// container changed under it.
	reportAttempts = 5
)

// applyReports writes the statuses an agent reported, for containers placed
// on its node only, in one transaction per chunk, with an event per state
// change. Unknown containers and those placed elsewhere are ignored, and
// so is a report older than the stored status (lifecycle.Stale), in the
// same compare-and-swap that writes the others.
func (g *Gateway) applyReports(ctx context.Context, node string, reports []api.ContainerReport) error {
	if len(reports) == 0 {
		return nil
	}
	order, latest := lastReports(reports)
	return g.applyLatest(ctx, node, order, latest)
}

// lastReports is the last reported status of each container, and the
// containers in the order they were first reported.
func lastReports(reports []api.ContainerReport) ([]string, map[string]api.ContainerStatus) {
	latest := make(map[string]api.ContainerStatus, len(reports))
	var order []string
	for _, r := range reports {
		if r.ID == "" {
			continue
		}
		if _, seen := latest[r.ID]; !seen {
			order = append(order, r.ID)
		}
		latest[r.ID] = r.Status
	}
	return order, latest
}

// applyLatest writes latest (order: its keys) as applyReports does.
func (g *Gateway) applyLatest(ctx context.Context, node string, order []string, latest map[string]api.ContainerStatus) error {
	label := g.nodeLabel(node)
	for len(order) > 0 {
		n := min(len(order), reportChunk)
		if err := g.applyChunk(ctx, node, label, order[:n], latest); err != nil {
			return err
		}
		order = order[n:]
	}
	return nil
}

// nodeLabel returns a function that names node in event messages: its
// name (what tables show) as the watch last showed it, else read once when
// first needed; its ID when it has none or cannot be read.
func (g *Gateway) nodeLabel(node string) func(context.Context) string {
	var label string
	return func(ctx context.Context) string {
		if label == "" {
			if label = g.nodeName(node); label != "" {
				return label
			}
			label = node
			var n api.Node
			if err := g.store.Get(ctx, store.KindNodes, node, &n); err == nil && n.Name != "" {
				label = n.Name
			}
		}
		return label
	}
}

func (g *Gateway) applyChunk(ctx context.Context, node string, label func(context.Context) string, ids []string, latest map[string]api.ContainerStatus) error {
	var err error
	for attempt := 0; attempt < reportAttempts; attempt++ {
		t := g.store.Txn()
		var wrote []store.Object
		for _, id := range ids {
			// The first attempt starts from the latest known version (the
			// watch's mirror, or this gateway's own last write of it),
			// saving a read per container when that leads to a write: the
			// write's compare-and-swap fails if the store has moved on,
			// and the retries read the store. A report that version would
			// drop is decided on a fresh read.
			if attempt == 0 {
				if c, ok := g.status.latestKnown(node, id); ok && g.applyOne(ctx, t, node, label, &c, latest[id]) {
					wrote = append(wrote, &c)
					continue
				}
			}
			var c api.Container
			if gerr := g.store.Get(ctx, store.KindContainers, id, &c); gerr != nil {
				if errdefs.IsNotFound(gerr) {
					continue
				}
				return gerr
			}
			if g.applyOne(ctx, t, node, label, &c, latest[id]) {
				wrote = append(wrote, &c)
			}
		}
		err = t.Commit(ctx)
		if err == nil {
			g.status.remember(wrote)
		}
		if err == nil || !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("status report: containers keep changing: %w", err)
}

// statusWrites is where applyOne queues writes: a store.Txn, or a
// recording to add to one later (statusbatch.go).
type statusWrites interface {
	Update(kind string, obj store.Object)
	Emit(events ...api.Event)
}

// applyOne queues in t the write of st as c's status, with its event, and
// reports whether it did: not for a container placed elsewhere, a stale
// report (lifecycle.Stale) or one that changes nothing.
func (g *Gateway) applyOne(ctx context.Context, t statusWrites, node string, label func(context.Context) string, c *api.Container, st api.ContainerStatus) bool {
	id := c.ID
	if c.Spec.Node != node {
		g.log.Debug("status report for a container placed elsewhere ignored", "node", node, "container", id, "placed", c.Spec.Node)
		return false
	}
	// Status only moves forward: a late or replayed report (of an
	// older run, or an earlier state of this run) is dropped.
	if lifecycle.Stale(st, c.Status) {
		g.log.Debug("status report older than the stored one dropped", "node", node, "container", id,
			"run", st.Run, "state", st.State, "stored_run", c.Status.Run, "stored_state", c.Status.State)
		return false
	}
	// An agent that restarted may have lost count; never go back.
	st.RestartCount = max(st.RestartCount, c.Status.RestartCount)
	st.Run = max(st.Run, c.Status.Run)
	if reflect.DeepEqual(normalize(c.Status), normalize(st)) {
		return false
	}
	old, oldPull := c.Status.State, c.Status.Pulling
	c.Status = st
	t.Update(store.KindContainers, c)
	if st.State != old {
		t.Emit(api.Event{Kind: "container", Object: id, Org: c.Org, Name: c.Name, Type: "state", State: string(st.State),
			Message: stateMessage(c, label(ctx))})
	} else if st.Pulling != nil && (oldPull == nil || *oldPull != *st.Pulling) {
		// Pull progress: the agent reports it at most about once a
		// second per container, riding this same batched write.
		t.Emit(api.Event{Kind: "container", Object: id, Org: c.Org, Name: c.Name, Type: "pulling", State: string(st.State),
			Message: fmt.Sprintf("Pulling %d%% of image %s on node %s", *st.Pulling, c.Spec.Image, label(ctx))})
	}
	return true
}

func stateMessage(c *api.Container, node string) string {
	s := fmt.Sprintf("%s on node %s", c.Status.State, node)
	if c.Status.ExitCode != nil {
		s += fmt.Sprintf(", exit code %d", *c.Status.ExitCode)
	}
	if c.Status.Reason != "" {
		s += ": " + c.Status.Reason
	}
	return s
}

// normalize makes statuses that encode the same way compare equal (times
// lose their monotonic clock and location in JSON).
func normalize(s api.ContainerStatus) api.ContainerStatus {
	s.StartedAt = s.StartedAt.UTC().Round(0)
	s.FinishedAt = s.FinishedAt.UTC().Round(0)
	return s
}
