package gateway

import "github.com/wharfhq/wharf/api"

// Delta pushes. An agent that said api.FeatureDeltaAssignments in its
// hello gets its set as what changed since the last set it accepted over
// the session, and the IDs of the rest (api.Assignments.Delta and Kept).
// Placing services one at a time, a node otherwise receives, and the
// gateway encodes, its whole set once per service placed on it: at 100
// services on 1,000 nodes, about 55 container encodings per node instead
// of 10.
//
// "Changed" is the assigner's: a container's Spec or Name (what its agent
// acts on). Status writes change neither; the agent's copy of a kept
// container keeps the Status it had, which it does not need (see
// api.Assignments).

// offeredSet is a node's full set as the assigner offers it to the node's
// session: the assignments and, at the index of each of its containers,
// that container's spec version (assigner.specRev). The session sends it
// whole or as a delta; the versions never leave the gateway.
type offeredSet struct {
	*api.Assignments
	versions []int64
}

// deliveredSet is what the agent holds of its set: by container ID, the
// spec version of each container of the last set it accepted over this
// session. It holds versions only, never containers: a map entry per
// container per session. Nil versions: nothing is known (no set accepted
// yet, a push failed, the agent takes no deltas) and the next push is
// full. Only putAssignments uses it, one push at a time per session.
type deliveredSet struct {
	versions map[string]int64
}

// wireForm is what to send for o: a delta from the delivered set when the
// agent takes deltas and a set was delivered, else o's full set.
func (d *deliveredSet) wireForm(o *offeredSet, deltas bool) *api.Assignments {
	if !deltas || d.versions == nil || len(o.versions) != len(o.Containers) {
		return o.Assignments
	}
	w := *o.Assignments // the other fields go whole, shared read-only
	w.Delta = true
	w.Containers = []api.Container{}
	w.Kept = make([]string, 0, len(o.Containers))
	for i := range o.Containers {
		c := &o.Containers[i]
		if v, ok := d.versions[c.ID]; ok && v == o.versions[i] {
			w.Kept = append(w.Kept, c.ID)
			continue
		}
		w.Containers = append(w.Containers, *c)
	}
	return &w
}

// accepted records that the agent accepted o (in whichever form): the
// base of the next delta.
func (d *deliveredSet) accepted(o *offeredSet, deltas bool) {
	if !deltas || len(o.versions) != len(o.Containers) {
		d.forget()
		return
	}
	if d.versions == nil {
		d.versions = make(map[string]int64, len(o.Containers))
	} else {
		clear(d.versions)
	}
	for i := range o.Containers {
		d.versions[o.Containers[i].ID] = o.versions[i]
	}
}

// forget drops what is known of the agent's set: the next push is full.
func (d *deliveredSet) forget() { d.versions = nil }
