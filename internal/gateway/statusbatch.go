package gateway

// statusbatch.go: group commit of the agents' status reports. Reports that
// arrive while statusWriters writes are in flight wait and go out together
// in the next transaction, so a burst of reports from many nodes costs a few
// large transactions (one store revision, one watch batch each) instead of
// one per report; a lone report is written at once, as before.

import (
	"context"
	"errors"
	"sync"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// statusReq is one agent's report waiting for the group write.
type statusReq struct {
	node   string
	order  []string // container IDs, first report order
	latest map[string]api.ContainerStatus
	done   chan error // gets the outcome once
}

// statusWriters is how many group writes may be in flight at once: two,
// so that one group is read and encoded while the other commits.
const statusWriters = 2

// statusBatcher gathers reports while writes are in flight.
type statusBatcher struct {
	g       *Gateway
	mu      sync.Mutex
	pending []*statusReq
	writers int
}

// submit writes an agent's reports like applyReports, in a transaction
// shared with the reports of other nodes that arrived meanwhile. It
// returns once they are written (or could not be).
func (b *statusBatcher) submit(ctx context.Context, node string, reports []api.ContainerReport) error {
	order, latest := lastReports(reports)
	if len(order) == 0 {
		return nil
	}
	if len(order) > reportChunk {
		// A large report (a hello's snapshot) takes its own chunks.
		return b.g.applyReports(ctx, node, reports)
	}
	req := &statusReq{node: node, order: order, latest: latest, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	start := b.writers < statusWriters
	if start {
		b.writers++
	}
	b.mu.Unlock()
	if start {
		go b.drain()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain writes pending reports, a group at a time, until none is left.
func (b *statusBatcher) drain() {
	for {
		b.mu.Lock()
		group, rest := takeGroup(b.pending)
		b.pending = rest
		if len(group) == 0 {
			b.writers--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.write(group)
	}
}

// takeGroup splits off the first requests that fit one transaction and
// name no container twice (a transaction may not write a key twice).
func takeGroup(pending []*statusReq) (group, rest []*statusReq) {
	seen := map[string]bool{}
	n := 0
	for i, r := range pending {
		clash := false
		for _, id := range r.order {
			if seen[id] {
				clash = true
				break
			}
		}
		if i > 0 && (clash || n+len(r.order) > reportChunk) {
			return pending[:i], pending[i:]
		}
		for _, id := range r.order {
			seen[id] = true
		}
		n += len(r.order)
	}
	return pending, nil
}

// write commits a group in one transaction, starting from the watch's
// mirror. If the mirror was behind for some container (the compare-and-
// swap fails) or a container is not mirrored, each request is written on
// its own from fresh reads instead, as applyReports does.
func (b *statusBatcher) write(group []*statusReq) {
	ctx := context.Background()
	g := b.g
	t := g.store.Txn()
	alone := len(group) == 1
	for _, r := range group {
		label := g.nodeLabel(r.node)
		for _, id := range r.order {
			c, ok := g.assign.placed(r.node, id)
			if !ok || !g.applyOne(ctx, t, r.node, label, &c, r.latest[id]) {
				// Not mirrored, or the mirror would drop the report:
				// decide on fresh reads.
				alone = true
			}
		}
		if alone {
			break
		}
	}
	if !alone {
		err := t.Commit(ctx)
		if err == nil || !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			for _, r := range group {
				r.done <- err
			}
			return
		}
	}
	for _, r := range group {
		r.done <- g.applyLatest(ctx, r.node, r.order, r.latest)
	}
}
