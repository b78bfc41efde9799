// Package scheduler decides which node runs each pending container. It is a
// pure function of the cluster as the caller sees it: no I/O, no store, no
// clock. The only strategy is Docker Cloud's EMPTIEST_NODE: among the nodes
// that can run a container, the one running the fewest containers wins.
package scheduler

import (
	"container/heap"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// Request is one pending slot: its container, the tags of its service and
// the driver it needs.
type Request struct {
	Container *api.Container
	Tags      []string
	Driver    string
}

// Placement assigns a container to a node.
type Placement struct{ ContainerID, NodeID string }

// Result is the outcome of one Place call. Placements come in request
// order; Unplaced maps the container ID of each request that no node can
// take to a one-line reason.
type Result struct {
	Placements []Placement
	Unplaced   map[string]string
}

// Place assigns each request a node by the EMPTIEST_NODE strategy. A node is
// eligible for a request when it is Deployed, offers the request's driver
// (an empty Driver asks for none) and carries every tag as a label ("k=v"
// needs label k with value v, "k" needs label k present). Among eligible
// nodes it picks the one running the fewest containers: those whose
// Spec.Node is the node and whose Spec.Desired is not Terminated, plus the
// placements made earlier in this call. Ties go to the lowest node ID.
//
// Requests with identical driver and tags form one class and share one
// filter pass and one heap, so the cost is about O(classes·nodes +
// requests·log nodes). Classes are served in the order they first appear.
// Requests with a nil Container are ignored.
func Place(nodes []*api.Node, containers []*api.Container, reqs []Request) Result {
	res := Result{Unplaced: map[string]string{}}
	if len(reqs) == 0 {
		return res
	}

	ns := make([]*api.Node, 0, len(nodes))
	for _, n := range nodes {
		if n != nil {
			ns = append(ns, n)
		}
	}
	slices.SortFunc(ns, func(a, b *api.Node) int { return strings.Compare(a.ID, b.ID) })
	index := make(map[string]int, len(ns))
	for i, n := range ns {
		index[n.ID] = i
	}
	counts := make([]int, len(ns))
	for _, c := range containers {
		if c == nil || c.Spec.Node == "" || c.Spec.Desired == api.ContainerTerminated {
			continue
		}
		if i, ok := index[c.Spec.Node]; ok {
			counts[i]++
		}
	}

	chosen := make([]int, len(reqs)) // node index per request, -1 if none
	for _, cl := range groupRequests(reqs) {
		eligible, reason := cl.filter(ns)
		if len(eligible) == 0 {
			for _, ri := range cl.reqs {
				chosen[ri] = -1
				res.Unplaced[reqs[ri].Container.ID] = reason
			}
			continue
		}
		h := &nodeHeap{nodes: eligible, counts: counts}
		heap.Init(h)
		for _, ri := range cl.reqs {
			n := h.nodes[0]
			chosen[ri] = n
			counts[n]++
			heap.Fix(h, 0)
		}
	}

	res.Placements = make([]Placement, 0, len(reqs))
	for ri, r := range reqs {
		if r.Container == nil || chosen[ri] < 0 {
			continue
		}
		res.Placements = append(res.Placements, Placement{ContainerID: r.Container.ID, NodeID: ns[chosen[ri]].ID})
	}
	return res
}

// class is a set of requests that accept exactly the same nodes.
type class struct {
	driver string
	tags   []tag // sorted, deduplicated
	reqs   []int // indexes into the request slice, in order
}

type tag struct {
	raw, key, value string
	hasValue        bool
}

func parseTag(s string) tag {
	k, v, ok := strings.Cut(s, "=")
	return tag{raw: s, key: k, value: v, hasValue: ok}
}

func (t tag) matches(labels map[string]string) bool {
	v, ok := labels[t.key]
	if !ok {
		return false
	}
	return !t.hasValue || v == t.value
}

func groupRequests(reqs []Request) []*class {
	var classes []*class
	byKey := map[string]*class{}
	var sb strings.Builder
	for i, r := range reqs {
		if r.Container == nil {
			continue
		}
		tags := slices.Clone(r.Tags)
		slices.Sort(tags)
		tags = slices.Compact(tags)
		sb.Reset()
		sb.WriteString(r.Driver)
		for _, t := range tags {
			sb.WriteByte(0)
			sb.WriteString(t)
		}
		key := sb.String()
		cl := byKey[key]
		if cl == nil {
			cl = &class{driver: r.Driver}
			for _, t := range tags {
				cl.tags = append(cl.tags, parseTag(t))
			}
			byKey[key] = cl
			classes = append(classes, cl)
		}
		cl.reqs = append(cl.reqs, i)
	}
	return classes
}

// filter returns the indexes of the nodes that accept the class and, when
// there are none, the reason.
func (cl *class) filter(ns []*api.Node) ([]int, string) {
	var eligible []int
	var rej rejections
	for i, n := range ns {
		switch {
		case n.State != api.NodeDeployed:
			rej.notDeployed++
		case cl.driver != "" && !slices.Contains(n.Drivers, cl.driver):
			rej.noDriver++
		default:
			missing := -1
			for ti, t := range cl.tags {
				if !t.matches(n.Labels) {
					missing = ti
					break
				}
			}
			if missing >= 0 {
				rej.addTag(len(cl.tags), missing)
				continue
			}
			eligible = append(eligible, i)
		}
	}
	if len(eligible) > 0 {
		return eligible, ""
	}
	return nil, rej.reason(len(ns), cl)
}

// nodeHeap orders eligible node indexes by (count, node ID); nodes are
// sorted by ID, so a lower index is a lower ID.
type nodeHeap struct {
	nodes  []int
	counts []int
}

func (h *nodeHeap) Len() int { return len(h.nodes) }
func (h *nodeHeap) Less(i, j int) bool {
	a, b := h.nodes[i], h.nodes[j]
	if h.counts[a] != h.counts[b] {
		return h.counts[a] < h.counts[b]
	}
	return a < b
}
func (h *nodeHeap) Swap(i, j int) { h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i] }
func (h *nodeHeap) Push(x any)    { h.nodes = append(h.nodes, x.(int)) }
func (h *nodeHeap) Pop() any {
	n := h.nodes[len(h.nodes)-1]
	h.nodes = h.nodes[:len(h.nodes)-1]
	return n
}
