package scheduler

import (
	"container/heap"
	"math/rand/v2"
	"slices"

	"github.com/wharfhq/wharf/api"
)

// rank is a node's standing for one request; lower is better, compared
// field by field.
type rank [4]int64

func (a rank) less(b rank) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// spreadsFewest reports whether a strategy picks the node with the fewest
// containers of any service.
func spreadsFewest(s string) bool {
	switch s {
	case api.StrategyHighAvailability, api.StrategyBinpack, api.StrategyRandom:
		return false
	}
	return true // "", EMPTIEST_NODE, spread, EVERY_NODE and unknown names
}

// simple reports whether only the static filters and the container count
// matter, so that one heap serves the whole class.
func (c *class) simple() bool {
	return spreadsFewest(c.strategy) && len(c.hardAff) == 0 && len(c.softAff) == 0 &&
		len(c.softCons) == 0 && len(c.ports) == 0 && c.cpu == 0 && c.mem == 0
}

// place chooses a node for every request of the class, or a reason.
func (c *class) place(cl *cluster, reqs []Request, chosen []int, unplaced map[string]string, rng *rand.Rand) {
	static, rej := cl.static(c)
	fail := func(from int, reason string) {
		for _, ri := range c.reqs[from:] {
			chosen[ri] = -1
			unplaced[reqs[ri].Container.ID] = reason
		}
	}
	if len(static) == 0 {
		fail(0, rej.reason(len(cl.nodes)))
		return
	}
	if c.simple() {
		h := &nodeHeap{nodes: slices.Clone(static), counts: cl.count}
		heap.Init(h)
		for _, ri := range c.reqs {
			n := h.nodes[0]
			chosen[ri] = n
			cl.add(n, reqs[ri].Container, c.svc)
			heap.Fix(h, 0)
		}
		return
	}

	d := c.newDynamic(cl)
	softCons := make([]int64, len(static))
	for si, i := range static {
		softCons[si] = int64(c.softMisses(cl.nodes[i]))
	}
	svcID := ""
	if c.svc != nil {
		svcID = c.svc.ID
	}
	var mine, zoneMine []int // this service's containers per node and per zone
	if c.strategy == api.StrategyHighAvailability {
		mine, zoneMine = make([]int, len(cl.nodes)), make([]int, cl.nzones)
		for i, k := range cl.bySvcID[svcID] {
			mine[i] += k
			zoneMine[cl.zone[i]] += k
		}
	}
	for k, ri := range c.reqs {
		best, ties := -1, 0
		var bestRank rank
		for si, i := range static {
			if d.fails(c, cl, i, nil) {
				continue
			}
			r := rank{softCons[si] + int64(d.softAffinityMisses(c, i))}
			switch c.strategy {
			case api.StrategyHighAvailability:
				r[1], r[2], r[3] = int64(zoneMine[cl.zone[i]]), int64(mine[i]), int64(cl.count[i])
			case api.StrategyBinpack:
				r[1], r[2] = -cl.usage(i), -int64(cl.count[i])
			case api.StrategyRandom:
			default:
				r[1] = int64(cl.count[i])
			}
			switch {
			case best < 0 || r.less(bestRank):
				best, bestRank, ties = i, r, 1
			case c.strategy == api.StrategyRandom && !bestRank.less(r):
				ties++
				if rng.IntN(ties) == 0 {
					best = i
				}
			}
		}
		if best < 0 {
			why := rejections{buckets: append([]bucket(nil), rej.buckets...)}
			for _, i := range static {
				d.fails(c, cl, i, &why)
			}
			fail(k, why.reason(len(cl.nodes)))
			return
		}
		chosen[ri] = best
		cl.add(best, reqs[ri].Container, c.svc)
		d.placed(c, reqs[ri].Container, best)
		if mine != nil {
			mine[best]++
			zoneMine[cl.zone[best]]++
		}
	}
}

// usage is how full node i is, in millionths of each resource it reports
// (CPU plus memory), for binpack.
func (cl *cluster) usage(i int) int64 {
	n := cl.nodes[i]
	var u int64
	if n.CPUs > 0 {
		u += cl.cpu[i] * 1e6 / (int64(n.CPUs) * 1e9)
	}
	if n.MemoryBytes > 0 {
		u += int64(float64(cl.mem[i]) / float64(n.MemoryBytes) * 1e6)
	}
	return u
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
