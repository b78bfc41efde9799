// Package controller holds Wharf's level-triggered controllers. Services
// turns each Service into one Container per slot: it creates missing slots,
// places them on nodes with the scheduler, sets what each container should
// be doing (Spec.Desired), deletes the containers agents have finished with,
// deletes terminated services, and keeps Service.Status up to date. An
// EVERY_NODE service ignores Replicas: it runs one container, with a slot of
// its own, on each eligible node (see wantedSlots). It also
// drains Terminating nodes and nodes of availability drain: each of their
// containers keeps running until a replacement for its slot runs on
// another node (one that holds an overlay address stops first), and a
// Terminating node with no container left is deleted (Terminated); a
// drained one stays. A paused node keeps what it runs. A node Unreachable for
// longer than the node-loss grace has its running slots replaced elsewhere
// at once; the old copies stay desired Terminated until the node returns
// (its agent stops them) or is removed. It applies autodestroy (a container
// that exited for good is terminated and its slot left empty), rolls
// restarts, redeploys and spec updates through the slots per the service's
// update config (parallelism, stop- or start-first, gated on readiness,
// rolling back past the failure ratio), starts sequential services one
// container at a time, starts nothing of a service until its depends_on
// conditions hold (deps.go), gives new containers their links'
// variables and gives each slot an address on every network of its
// service, kept across its replacements (addresses.go).
//
// It reads the store once (services, containers, nodes, networks, address
// records and stacks at one revision),
// then follows a watch, keeping everything in memory; reconciling is a pure
// computation over that cache plus batched, compare-and-swap transactions.
// It never writes a container's Status: that belongs to the agent gateway.
//
// # Shape
//
// Services is the loop (services.go, reconcile.go): it lists and watches,
// keeps the cache (cache.go) and the dirty set, and runs passes. The work
// of a pass is done by five reconcilers, each a small view over the shared
// cache with one job, whose writes all go through the shared commit path
// (commit.go: per-service units, batched compare-and-swap transactions
// (up to four in flight), retries and the wait for the watch to show them; status.go derives each
// service's status from its plan there):
//
//   - slotReconciler (slots.go, everynode.go, deps.go, links.go): the slots
//     a service should run, what each container is, filling and placing
//     missing slots, scaling, EVERY_NODE, sequential start-up, depends_on
//     and links;
//   - rolloutReconciler (rollout.go): rolling updates, the readiness gate
//     (Monitor, Delay) and rollback;
//   - reaper (reaper.go, nodeloss.go, nodes.go): drain and reap:
//     terminating services and containers, draining nodes (Terminating,
//     or of availability drain), node-loss replacement, deleting drained
//     Terminating nodes;
//   - autodestroyReconciler (autodestroy.go): exits that empty a slot for
//     good;
//   - addressReconciler (addresses.go): the addresses of new containers
//     (the slot's, or the next free one) and the release of those no slot
//     needs, called by the slots reconciler and after each plan.
//
// The order of a pass is fixed (pass): the reaper first updates the
// node-loss clock, so that every decision of the pass sees the same nodes
// down; then each dirty service is planned in ID order: a terminating one
// by the reaper alone, a live one by the slots reconciler, which asks about
// each container in a fixed precedence, the first that applies
// (autodestroy's emptied slots; containers already desired Terminated; the
// reaper's removed nodes; EVERY_NODE containers on a node down past the
// grace; slots no longer wanted; running containers on a node down past
// the grace; autodestroy's new exits; broken placements; the reaper's
// draining nodes;
// duplicates of a slot), then lets the rollout reconciler pick
// the slots to replace, then fills the slots still missing, so that a slot
// emptied on purpose (autodestroy, stop-first) is not refilled and a
// replacement waits for depends_on. All new containers of the pass are
// placed in one scheduler call, and the plans committed. Only then does
// the reaper delete drained nodes, on a cache that holds the pass's own
// writes, and the rollout reconciler forget the readiness of containers
// gone. Each service's writes stay one unit, committed as before.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/debounce"
	"github.com/wharfhq/wharf/internal/store"
)

// Services is the service controller: the loop that watches, keeps the
// cache and calls the reconcilers in a fixed order (see the package
// comment). Create it with NewServices and call Run once.
type Services struct {
	st  *store.Store
	log *slog.Logger

	running atomic.Bool

	// Timing; tests may shorten them before Run.
	// debounce: a pass waits until changes have stopped this long. At
	// 50 ms, 100 services created at once through the API (in 80 ms) were
	// often planned in two passes, the second after the watch showed the
	// first's writes, and every node got two pushes.
	debounce    time.Duration
	debounceMax time.Duration // the longest a burst can put a pass off
	resync      time.Duration // reconcile everything this often
	retry       time.Duration // wait after a failed write that was not a conflict
	hold        time.Duration // longest wait for the watch to show our own writes
	// lossGrace: how long a node may be Unreachable before its running
	// slots are replaced elsewhere.
	lossGrace time.Duration
	// watch opens the watch after a list; tests wrap it to inject errors.
	watch func(ctx context.Context, fromRev int64) <-chan store.WatchBatch

	// Owned by the Run goroutine.
	cache *cache
	dirty map[string]bool // service IDs to reconcile
	// waitRev > cache.rev means a write of ours (or the one that beat us) is
	// not in the cache yet: reconciling now could act twice, so wait.
	waitRev   int64
	waitSince time.Time
	notBefore time.Time // no pass before this (after a transient error)

	// The reaper's: downSince, since when each Unreachable node has been
	// out of reach (its LastSeen), kept across relists; lossAt, when the
	// next one passes the grace (zero: none).
	downSince map[string]time.Time
	lossAt    time.Time
	// started is when Run began: no node is down since before it.
	started time.Time
	// drainWait: by service ID, then node ID, the lines that say what
	// that service's slots on a Terminating node wait for (reaper.go),
	// kept from the service's last plan.
	drainWait map[string]map[string][]string
	// The rollout reconciler's: readySeen, when each container was first
	// seen ready (Monitor); tickAt, when a pass is due for a Monitor or
	// Delay to end.
	readySeen map[string]time.Time
	tickAt    time.Time
	// The address reconciler's: alloc, what the current pass handed out;
	// lastAddr, the last address handed out on each network (the next
	// one starts after it, so a freed address rests as long as it can);
	// netWait, the services with a slot held by a full network.
	alloc    *passAlloc
	lastAddr map[string]netip.Addr
	netWait  map[string]bool
}

// NewServices returns a service controller over st. log may be nil.
func NewServices(st *store.Store, log *slog.Logger, opts ...Option) *Services {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Services{
		st:          st,
		log:         log.With("component", "services-controller"),
		debounce:    100 * time.Millisecond,
		debounceMax: 500 * time.Millisecond,
		resync:      30 * time.Second,
		retry:       time.Second,
		hold:        10 * time.Second,

		lossGrace: DefaultNodeLossGrace,
		downSince: map[string]time.Time{},
		drainWait: map[string]map[string][]string{},
		readySeen: map[string]time.Time{},
		alloc:     newPassAlloc(context.Background()),
		lastAddr:  map[string]netip.Addr{},
		netWait:   map[string]bool{},
	}
	for _, o := range opts {
		o(c)
	}
	c.watch = func(ctx context.Context, fromRev int64) <-chan store.WatchBatch {
		return c.st.Watch(ctx, fromRev, store.KindServices, store.KindContainers, store.KindNodes,
			store.KindNetworks, store.KindAddresses, store.KindStacks)
	}
	return c
}

// Running reports whether the controller is live: the first reconcile after
// the latest list has finished and the watch is running.
func (c *Services) Running() bool { return c.running.Load() }

// Run reconciles until ctx ends, then returns nil. Store errors (a lost or
// compacted watch, an unreachable etcd) make it list again after a backoff.
func (c *Services) Run(ctx context.Context) error {
	c.started = time.Now()
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		err := c.session(ctx)
		c.running.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		if errors.Is(err, store.ErrCompacted) {
			c.log.Info("watch compacted; listing again", "err", err)
		} else {
			c.log.Warn("service controller restarting", "err", err, "backoff", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

var errStale = errors.New("the watch did not show our writes in time")

// session lists, reconciles everything, then follows the watch until an
// error or the end of ctx.
func (c *Services) session(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cache, err := loadCache(ctx, c.st)
	if err != nil {
		return err
	}
	watch := c.watch(wctx, cache.rev)
	c.cache, c.waitRev, c.notBefore = cache, 0, time.Time{}
	c.drainWait = map[string]map[string][]string{} // every service is planned again
	c.dirty = map[string]bool{}
	c.markAll()
	c.pass(ctx)
	c.running.Store(true)
	c.log.Debug("service controller running", "services", len(cache.services), "containers", len(cache.containers), "nodes", len(cache.nodes), "revision", cache.rev)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed, holding := false, false
	// arm sets the timer of the next pass: when the burst of changes is
	// over (debounce.Burst: each change pushes the pass back, up to
	// debounceMax after the first), or when the hold ends.
	burst := debounce.Burst{Quiet: c.debounce, Max: max(c.debounceMax, c.debounce)}
	arm := func() {
		if len(c.dirty) == 0 || armed && holding {
			return
		}
		d := burst.Change(time.Now())
		holding = c.waiting()
		if holding {
			d = time.Until(c.waitSince.Add(c.hold))
		} else if w := time.Until(c.notBefore); w > d {
			d = w
		}
		timer.Reset(max(d, time.Millisecond))
		armed = true
	}
	resync := time.NewTicker(c.resync)
	defer resync.Stop()
	loss := time.NewTimer(time.Hour)
	defer loss.Stop()
	tick := time.NewTimer(time.Hour)
	defer tick.Stop()
	tickArmed := time.Time{}
	armTick := func() {
		if c.tickAt.IsZero() || c.tickAt.Equal(tickArmed) {
			return
		}
		tick.Reset(max(time.Until(c.tickAt), time.Millisecond))
		tickArmed = c.tickAt
	}
	lossArmed := time.Time{}
	armLoss := func() {
		if c.lossAt.IsZero() || c.lossAt.Equal(lossArmed) {
			return
		}
		loss.Reset(max(time.Until(c.lossAt), time.Millisecond))
		lossArmed = c.lossAt
	}
	arm()
	armLoss()
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-watch:
			if !ok {
				return fmt.Errorf("watch closed")
			}
			if b.Err != nil {
				return b.Err
			}
			c.applyBatch(b)
			if armed && holding && !c.waiting() {
				// Caught up after a hold: fall back to the short debounce.
				timer.Stop()
				armed = false
			}
			arm()
			armLoss()
			armTick()
		case <-timer.C:
			armed = false
			if c.waiting() {
				if time.Since(c.waitSince) >= c.hold {
					return fmt.Errorf("%w (at %d, want %d)", errStale, c.cache.rev, c.waitRev)
				}
			} else if time.Now().After(c.notBefore) {
				burst.Done()
				c.pass(ctx)
			}
			arm()
			armLoss()
			armTick()
		case <-tick.C:
			tickArmed, c.tickAt = time.Time{}, time.Time{}
			c.markAll()
			arm()
		case <-loss.C:
			lossArmed = time.Time{}
			c.lossAt = c.reaper().trackDown(time.Now())
			c.markAll()
			arm()
			armLoss()
			armTick()
		case <-resync.C:
			c.markAll()
			arm()
		}
	}
}

func (c *Services) waiting() bool { return c.waitRev > c.cache.rev }

// waitFor holds reconciles until the cache reaches rev.
func (c *Services) waitFor(rev int64) {
	if rev <= c.waitRev {
		return
	}
	if !c.waiting() {
		c.waitSince = time.Now()
	}
	c.waitRev = rev
}

func (c *Services) markAll() {
	for _, id := range c.cache.serviceIDs() {
		c.dirty[id] = true
	}
	c.reaper().markReap()
}

func (c *Services) applyBatch(b store.WatchBatch) {
	t := touched{services: map[string]bool{}}
	c.cache.apply(b.Changes, &t, func(ch store.Change, err error) {
		c.log.Error("cannot decode a watched object; ignoring it", "kind", ch.Kind, "id", ch.ID, "err", err)
	})
	if t.nodes {
		c.lossAt = c.reaper().trackDown(time.Now())
		c.markAll()
		c.reaper().markReap()
	}
	for id := range t.services {
		if id != "" { // a container without a service is not ours
			c.dirty[id] = true
		}
	}
	// Services of an organization whose networks changed, and, when an
	// address was given back, those held by a full network, may now get
	// addresses.
	for org := range t.orgs {
		for id, s := range c.cache.services {
			if orgName(s.Org) == org {
				c.dirty[id] = true
			}
		}
	}
	if t.freed {
		for id := range c.netWait {
			c.dirty[id] = true
		}
	}
	// Services that depend on one that changed may now start containers.
	for name := range t.names {
		for id := range c.cache.dependants[name] {
			c.dirty[id] = true
		}
	}
}
