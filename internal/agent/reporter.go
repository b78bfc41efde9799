package agent

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
)

// reportEvery is the shortest interval between two status reports.
const reportEvery = 200 * time.Millisecond

// reportGather is how long the first change of a burst waits for the
// rest before a report goes out.
const reportGather = 50 * time.Millisecond

// startingHold is how long a container's Starting waits before it is
// reported: a start that ends sooner is reported as its outcome alone.
// Each report is a store write on the server, and most starts (an image
// already present) take less; a pull still shows as Starting, with its
// progress, from then on.
const startingHold = 500 * time.Millisecond

// reporter keeps the latest status of every container and sends what
// changed to the server, batched, whenever a session is up.
type reporter struct {
	a    *Agent
	mu   sync.Mutex
	seq  uint64
	m    map[string]*repEntry
	wake chan struct{}
	// held is when the earliest Starting that collect held back is due
	// (zero: none); run wakes itself then.
	held time.Time
}

type repEntry struct {
	status api.ContainerStatus
	seq    uint64 // bumped on every change
	sent   uint64 // the seq the server has acknowledged
	// starting is when this run of the container began Starting.
	starting time.Time
}

func newReporter(a *Agent) *reporter {
	return &reporter{a: a, m: map[string]*repEntry{}, wake: make(chan struct{}, 1)}
}

// set records a container's new status for sending.
func (r *reporter) set(id string, st api.ContainerStatus) {
	r.mu.Lock()
	r.seq++
	e := r.m[id]
	if e == nil {
		e = &repEntry{}
		r.m[id] = e
	}
	if st.State == api.ContainerStarting && (e.status.State != api.ContainerStarting || e.status.Run != st.Run) {
		e.starting = time.Now()
	}
	e.status, e.seq = st, r.seq
	r.mu.Unlock()
	r.kick()
}

func (r *reporter) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// snapshot is every known status (for the hello), with the seqs to mark
// sent once the server has it.
func (r *reporter) snapshot() ([]api.ContainerReport, map[string]uint64) {
	return r.collect(true)
}

// collect is every status (all) or those not yet acknowledged, less a
// Starting younger than startingHold (r.held says when the first is due).
func (r *reporter) collect(all bool) ([]api.ContainerReport, map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []api.ContainerReport
	seqs := map[string]uint64{}
	now := time.Now()
	r.held = time.Time{}
	for id, e := range r.m {
		if !all && e.seq > e.sent && e.status.State == api.ContainerStarting {
			if due := e.starting.Add(startingHold); due.After(now) {
				if r.held.IsZero() || due.Before(r.held) {
					r.held = due
				}
				continue
			}
		}
		if all || e.seq > e.sent {
			out = append(out, api.ContainerReport{ID: id, Status: e.status})
			seqs[id] = e.seq
		}
	}
	slices.SortFunc(out, func(x, y api.ContainerReport) int { return strings.Compare(x.ID, y.ID) })
	return out, seqs
}

// markSent records what the server acknowledged. Terminated containers are
// forgotten once the server knows.
func (r *reporter) markSent(seqs map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range seqs {
		e := r.m[id]
		if e == nil {
			continue
		}
		e.sent = max(e.sent, s)
		if e.sent == e.seq && e.status.State == api.ContainerTerminated {
			delete(r.m, id)
		}
	}
}

// run sends changes while a session is up, at most every reportEvery.
func (r *reporter) run(ctx context.Context) {
	var due *time.Timer // wakes run when a held Starting is due
	defer func() {
		if due != nil {
			due.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		s := r.a.currentSession()
		if s == nil {
			continue // the next session's hello carries everything
		}
		// Changes come in bursts (a push starts its containers at once):
		// the rest of the burst goes out with the first.
		if !sleep(ctx, reportGather) {
			return
		}
		reports, seqs := r.collect(false)
		r.mu.Lock()
		held := r.held
		r.mu.Unlock()
		if !held.IsZero() {
			if due == nil {
				due = time.AfterFunc(time.Until(held), r.kick)
			} else {
				due.Reset(time.Until(held))
			}
		}
		if len(reports) == 0 {
			continue
		}
		if err := s.postStatus(ctx, api.StatusReport{Containers: reports}); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.a.log.Warn("status report failed; will resend", "containers", len(reports), "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			r.kick()
			continue
		}
		r.markSent(seqs)
		if !sleep(ctx, reportEvery) {
			return
		}
	}
}
