package scheduler

import (
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// class is a set of requests that ask for exactly the same thing: one
// service (or none) and one driver.
type class struct {
	svc                *api.Service // nil for a request without one
	svcName            string
	image              string
	driver             string
	strategy           string
	tags               []tag // sorted, deduplicated
	hardCons, softCons []Expr
	hardAff, softAff   []Expr
	ports              []api.PortSpec // with a fixed host port
	cpu, mem           int64
	reqs               []int // indexes into the request slice, in order
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

// newClass reads what the filters need from the service. Expressions that
// do not parse are ignored: the API refuses them before they are stored.
func newClass(svc *api.Service, driver string) *class {
	c := &class{svc: svc, driver: driver}
	if svc == nil {
		return c
	}
	spec := &svc.Spec
	c.svcName, c.image, c.strategy = svc.Name, spec.Image, spec.Strategy
	tags := slices.Clone(spec.Tags)
	slices.Sort(tags)
	for _, t := range slices.Compact(tags) {
		c.tags = append(c.tags, parseTag(t))
	}
	for _, s := range spec.Constraints {
		if e, err := ParseConstraint(s); err == nil {
			if e.Soft {
				c.softCons = append(c.softCons, e)
			} else {
				c.hardCons = append(c.hardCons, e)
			}
		}
	}
	for _, s := range spec.Affinities {
		if e, err := ParseAffinity(s); err == nil {
			if e.Soft {
				c.softAff = append(c.softAff, e)
			} else {
				c.hardAff = append(c.hardAff, e)
			}
		}
	}
	for _, p := range spec.Ports {
		if fixedOnNode(p) {
			c.ports = append(c.ports, p)
		}
	}
	c.cpu, c.mem = spec.Reservations.NanoCPUs, spec.Reservations.MemoryBytes
	return c
}

func groupRequests(reqs []Request) []*class {
	var classes []*class
	type key struct {
		svc    *api.Service
		driver string
	}
	byKey := map[key]*class{}
	for i, r := range reqs {
		if r.Container == nil {
			continue
		}
		driver := r.Container.Spec.Driver
		if driver == "" && r.Service != nil {
			driver = r.Service.Spec.DriverName()
		}
		k := key{r.Service, driver}
		c := byKey[k]
		if c == nil {
			c = newClass(r.Service, driver)
			byKey[k] = c
			classes = append(classes, c)
		}
		c.reqs = append(c.reqs, i)
	}
	return classes
}

// nodeValue is what a constraint's key names on node n, and whether n has it.
func nodeValue(n *api.Node, e Expr) (string, bool) {
	if k := e.labelKey(); k != "" {
		v, ok := n.Labels[k]
		return v, ok
	}
	switch e.Key {
	case "node.id":
		return n.ID, true
	case "node.name", "node":
		if n.Hostname != "" {
			return n.Hostname, true
		}
		return n.Name, n.Name != ""
	case "node.os":
		return n.OS, n.OS != ""
	case "node.arch":
		return n.Arch, n.Arch != ""
	case "node.kernel":
		return n.Kernel, n.Kernel != ""
	case "node.engine_version":
		return n.EngineVersion, n.EngineVersion != ""
	}
	return "", false
}

// staticFilter applies the filters that placements cannot change: state
// and availability (a paused or draining node takes nothing new),
// driver, tags and hard constraints. It returns the indexes of the nodes
// that pass and counts the others.
func (c *class) staticFilter(cl *cluster) ([]int, rejections) {
	var rej rejections
	var pass []int
	for i, n := range cl.nodes {
		switch {
		case n.State != api.NodeDeployed:
			rej.add(stageState, 0, "not Deployed", "not Deployed")
		case n.Available() == api.AvailabilityPause:
			rej.add(stageState, 1, "paused", "paused")
		case n.Available() != api.AvailabilityActive:
			rej.add(stageState, 2, "draining", "draining")
		case c.driver != "" && !slices.Contains(n.Drivers, c.driver):
			rej.add(stageDriver, 0, "lacks driver "+c.driver, "lack driver "+c.driver)
		default:
			if ti := slices.IndexFunc(c.tags, func(t tag) bool { return !t.matches(n.Labels) }); ti >= 0 {
				rej.add(stageTag, ti, "lacks tag "+c.tags[ti].raw, "lack tag "+c.tags[ti].raw)
				continue
			}
			if ci := slices.IndexFunc(c.hardCons, func(e Expr) bool { return !e.Holds(nodeValue(n, e)) }); ci >= 0 {
				s := c.hardCons[ci].String()
				rej.add(stageConstraint, ci, "fails "+s, "fail "+s)
				continue
			}
			pass = append(pass, i)
		}
	}
	return pass, rej
}

// staticPass is the outcome of staticFilter, shared by the classes that
// ask for the same driver, tags and hard constraints.
type staticPass struct {
	pass []int
	rej  rejections
}

// static runs staticFilter once per distinct driver, tags and hard
// constraints. Callers must not change the slice it returns.
func (cl *cluster) static(c *class) ([]int, rejections) {
	var sb strings.Builder
	sb.WriteString(c.driver)
	for _, t := range c.tags {
		sb.WriteByte(0)
		sb.WriteString(t.raw)
	}
	sb.WriteByte(1)
	for _, e := range c.hardCons {
		sb.WriteByte(0)
		sb.WriteString(e.String())
	}
	key := sb.String()
	if sp, ok := cl.statics[key]; ok {
		return sp.pass, sp.rej
	}
	pass, rej := c.staticFilter(cl)
	cl.statics[key] = &staticPass{pass, rej}
	return pass, rej
}

// softMisses counts the soft constraints node n fails.
func (c *class) softMisses(n *api.Node) int {
	k := 0
	for _, e := range c.softCons {
		if !e.Holds(nodeValue(n, e)) {
			k++
		}
	}
	return k
}

// dynamic holds a class's view of what placements change: per affinity,
// how many matching containers each node runs.
type dynamic struct {
	hard, soft [][]int // per affinity, per node; nil: none anywhere
	nnodes     int
}

func (c *class) newDynamic(cl *cluster) *dynamic {
	d := &dynamic{nnodes: len(cl.nodes)}
	for _, e := range c.hardAff {
		d.hard = append(d.hard, cl.matching(affinityIndex(cl, e), e))
	}
	for _, e := range c.softAff {
		d.soft = append(d.soft, cl.matching(affinityIndex(cl, e), e))
	}
	return d
}

func affinityIndex(cl *cluster, e Expr) map[string]map[int]int {
	switch e.Key {
	case AffinityService:
		return cl.bySvcName
	case AffinityContainer:
		return cl.byName
	}
	return cl.byImage
}

// affinityHolds reports whether a node running k matching containers
// satisfies e.
func affinityHolds(e Expr, counts []int, i int) bool {
	k := 0
	if counts != nil {
		k = counts[i]
	}
	return (k > 0) == e.Equal
}

// fails reports whether node i fails a dynamic filter for one more
// container of the class, counting the first failure in rej when set.
func (d *dynamic) fails(c *class, cl *cluster, i int, rej *rejections) bool {
	for ai, e := range c.hardAff {
		if !affinityHolds(e, d.hard[ai], i) {
			if rej != nil {
				rej.add(stageAffinity, ai, "fails "+e.String(), "fail "+e.String())
			}
			return true
		}
	}
	for pi, p := range c.ports {
		if cl.taken[portKey{i, p.HostPort, proto(p.Protocol)}] {
			if rej != nil {
				s := portText(p)
				rej.add(stagePort, pi, "has port "+s+" taken", "have port "+s+" taken")
			}
			return true
		}
	}
	n := cl.nodes[i]
	if c.cpu > 0 && n.CPUs > 0 && cl.cpu[i]+c.cpu > int64(n.CPUs)*1e9 {
		if rej != nil {
			rej.add(stageReservation, 0, "lacks free CPU", "lack free CPU")
		}
		return true
	}
	if c.mem > 0 && n.MemoryBytes > 0 && cl.mem[i]+c.mem > n.MemoryBytes {
		if rej != nil {
			rej.add(stageReservation, 1, "lacks free memory", "lack free memory")
		}
		return true
	}
	return false
}

// softAffinityMisses counts the soft affinities node i fails.
func (d *dynamic) softAffinityMisses(c *class, i int) int {
	k := 0
	for ai, e := range c.softAff {
		if !affinityHolds(e, d.soft[ai], i) {
			k++
		}
	}
	return k
}

// placed records one more container of the class on node i in the class's
// affinity counts.
func (d *dynamic) placed(c *class, ct *api.Container, i int) {
	upd := func(exprs []Expr, counts [][]int) {
		for ai, e := range exprs {
			var v string
			match := e.Matches
			switch e.Key {
			case AffinityService:
				v = serviceName(ct, c.svc)
			case AffinityContainer:
				v = ct.Name
			default:
				v, match = image(ct, c.svc), e.MatchesImage
			}
			if v != "" && match(v) {
				if counts[ai] == nil {
					counts[ai] = make([]int, d.nnodes)
				}
				counts[ai][i]++
			}
		}
	}
	upd(c.hardAff, d.hard)
	upd(c.softAff, d.soft)
}

func portText(p api.PortSpec) string {
	s := itoa(p.HostPort)
	if pr := proto(p.Protocol); pr != "tcp" {
		s += "/" + pr
	}
	return s
}
