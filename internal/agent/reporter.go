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

// reporter keeps the latest status of every container and sends what
// changed to the server, batched, whenever a session is up.
type reporter struct {
	a    *Agent
	mu   sync.Mutex
	seq  uint64
	m    map[string]*repEntry
	wake chan struct{}
}

type repEntry struct {
	status api.ContainerStatus
	seq    uint64 // bumped on every change
	sent   uint64 // the seq the server has acknowledged
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

func (r *reporter) collect(all bool) ([]api.ContainerReport, map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []api.ContainerReport
	seqs := map[string]uint64{}
	for id, e := range r.m {
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
		reports, seqs := r.collect(false)
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
