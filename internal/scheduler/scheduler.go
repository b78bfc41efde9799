// Package scheduler decides which node runs each pending container. It is a
// pure function of the cluster as the caller sees it: no I/O, no store, no
// clock. Each request goes through filters (node state, driver, tags,
// constraints, affinities, published ports, reservations) and a strategy
// ranks the nodes that pass: EMPTIEST_NODE (the default), HIGH_AVAILABILITY,
// spread, binpack or random. EVERY_NODE services are the controller's to
// place, one container per node that EligibleNodes returns.
package scheduler

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// Request is one pending slot: its container and its service, whose spec
// brings the driver (Container.Spec.Driver wins when set), tags,
// constraints, affinities, ports, reservations and strategy. A request
// with a nil Service asks only for its container's driver.
type Request struct {
	Container *api.Container
	Service   *api.Service
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

// Option tunes a Place or EligibleNodes call.
type Option func(*options)

type options struct {
	rng      *rand.Rand
	services map[string]*api.Service
}

// WithRand makes the random strategy draw from r, for repeatable tests.
// Without it each call seeds its own source.
func WithRand(r *rand.Rand) Option { return func(o *options) { o.rng = r } }

// WithServices tells the scheduler the services of the containers already
// placed, by ID, so that their reservations count against their nodes.
// Services of the requests are known without it.
func WithServices(svcs map[string]*api.Service) Option {
	return func(o *options) { o.services = svcs }
}

// Place assigns each request a node. Requests of the same service and driver
// form one class, served in the order the class first appears, and share
// one pass of the static filters (state, driver, tags, constraints). The
// dynamic ones (affinities, ports, reservations) and the strategy see every
// container: those given whose Spec.Node is set and whose Spec.Desired is
// not Terminated, plus the placements made earlier in this call. Ties go to
// the lowest node ID. Requests with a nil Container are ignored. Strategy
// EVERY_NODE ranks like EMPTIEST_NODE here.
func Place(nodes []*api.Node, containers []*api.Container, reqs []Request, opts ...Option) Result {
	res := Result{Unplaced: map[string]string{}}
	if len(reqs) == 0 {
		return res
	}
	o := newOptions(opts)
	for _, r := range reqs {
		if r.Service != nil && r.Container != nil {
			if _, ok := o.services[r.Service.ID]; !ok {
				o.services[r.Service.ID] = r.Service
			}
		}
	}
	cl := newCluster(nodes, containers, o.services)
	chosen := make([]int, len(reqs))
	for _, c := range groupRequests(reqs) {
		c.place(cl, reqs, chosen, res.Unplaced, o.rng)
	}
	res.Placements = make([]Placement, 0, len(reqs))
	for ri, r := range reqs {
		if r.Container == nil || chosen[ri] < 0 {
			continue
		}
		res.Placements = append(res.Placements, Placement{ContainerID: r.Container.ID, NodeID: cl.nodes[chosen[ri]].ID})
	}
	return res
}

// EligibleNodes returns, sorted by ID, every node that passes every hard
// filter for one container of svc, and when there is none the reason. The
// service's own containers are left out of the affinity, port and
// reservation checks, so a node already running one of them stays
// eligible: EVERY_NODE keeps one container on each node returned.
func EligibleNodes(nodes []*api.Node, containers []*api.Container, svc *api.Service, opts ...Option) (eligible []*api.Node, reason string) {
	o := newOptions(opts)
	others := make([]*api.Container, 0, len(containers))
	for _, c := range containers {
		if c != nil && c.Spec.Service != svc.ID {
			others = append(others, c)
		}
	}
	cl := newCluster(nodes, others, o.services)
	c := newClass(svc, svc.Spec.DriverName())
	static, rej := c.staticFilter(cl)
	d := c.newDynamic(cl)
	for _, i := range static {
		if d.fails(c, cl, i, &rej) {
			continue
		}
		eligible = append(eligible, cl.nodes[i])
	}
	if len(eligible) == 0 {
		return nil, rej.reason(len(cl.nodes))
	}
	return eligible, ""
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	if o.rng == nil {
		o.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	svcs := make(map[string]*api.Service, len(o.services))
	for id, s := range o.services {
		svcs[id] = s
	}
	o.services = svcs
	return o
}

// Broken returns why node n no longer meets the tags or hard constraints of
// svc ("lacks tag zone=a", "fails storage==ssd"), or "" when it meets them.
// Only these rules are checked: they are the ones a change of the node's
// labels can break under a running container.
func Broken(n *api.Node, svc *api.Service) string {
	if n == nil || svc == nil {
		return ""
	}
	c := newClass(svc, "")
	if ti := slices.IndexFunc(c.tags, func(t tag) bool { return !t.matches(n.Labels) }); ti >= 0 {
		return "lacks tag " + c.tags[ti].raw
	}
	if ci := slices.IndexFunc(c.hardCons, func(e Expr) bool { return !e.Holds(nodeValue(n, e)) }); ci >= 0 {
		return "fails " + c.hardCons[ci].String()
	}
	return ""
}

// Ineligible returns why node n cannot run a container of svc, as one
// entry of a reason ("fails storage==ssd", "not Deployed"), or "" when it
// is eligible (EligibleNodes would return it).
func Ineligible(n *api.Node, containers []*api.Container, svc *api.Service, opts ...Option) string {
	if n == nil {
		return "is gone"
	}
	eligible, reason := EligibleNodes([]*api.Node{n}, containers, svc, opts...)
	if len(eligible) > 0 {
		return ""
	}
	_, why, _ := strings.Cut(reason, ": 1 ")
	return why
}
