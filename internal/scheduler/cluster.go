package scheduler

import (
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// cluster is the load of every node as Place sees it, indexed for the
// filters and strategies and kept up to date as placements are made.
type cluster struct {
	nodes    []*api.Node // sorted by ID
	index    map[string]int
	services map[string]*api.Service
	zone     []int // per node: index of its az (or zone) label value
	nzones   int

	count []int   // containers per node
	cpu   []int64 // reserved nano CPUs per node
	mem   []int64 // reserved memory bytes per node
	taken map[portKey]bool
	// statics caches the static filter pass per set of static rules.
	statics map[string]*staticPass
	// Containers per node, by service ID, service name, container name and
	// image.
	bySvcID, bySvcName, byName, byImage map[string]map[int]int
}

type portKey struct {
	node  int
	port  int
	proto string
}

func newCluster(nodes []*api.Node, containers []*api.Container, services map[string]*api.Service) *cluster {
	cl := &cluster{
		services: services, index: make(map[string]int, len(nodes)), taken: map[portKey]bool{}, statics: map[string]*staticPass{},
		bySvcID: map[string]map[int]int{}, bySvcName: map[string]map[int]int{},
		byName: map[string]map[int]int{}, byImage: map[string]map[int]int{},
	}
	for _, n := range nodes {
		if n != nil {
			cl.nodes = append(cl.nodes, n)
		}
	}
	slices.SortFunc(cl.nodes, func(a, b *api.Node) int { return strings.Compare(a.ID, b.ID) })
	zones := map[string]int{}
	cl.zone = make([]int, len(cl.nodes))
	for i, n := range cl.nodes {
		cl.index[n.ID] = i
		z, ok := n.Labels["az"]
		if !ok {
			z = n.Labels["zone"]
		}
		zi, ok := zones[z]
		if !ok {
			zi = len(zones)
			zones[z] = zi
		}
		cl.zone[i] = zi
	}
	cl.nzones = len(zones)
	cl.count = make([]int, len(cl.nodes))
	cl.cpu = make([]int64, len(cl.nodes))
	cl.mem = make([]int64, len(cl.nodes))
	for _, c := range containers {
		if c == nil || c.Spec.Node == "" || c.Spec.Desired == api.ContainerTerminated {
			continue
		}
		if i, ok := cl.index[c.Spec.Node]; ok {
			cl.add(i, c, services[c.Spec.Service])
		}
	}
	return cl
}

// serviceName is the name of a container's service: its name without the
// "-<slot>" suffix, else svc's name, else the service ID.
func serviceName(c *api.Container, svc *api.Service) string {
	if svc != nil && svc.Name != "" {
		return svc.Name
	}
	if s, ok := strings.CutSuffix(c.Name, "-"+strconv.Itoa(c.Spec.Slot)); ok && s != "" {
		return s
	}
	return c.Spec.Service
}

// image is what a container runs, for image affinities.
func image(c *api.Container, svc *api.Service) string {
	if c.Spec.Image == "" && svc != nil {
		return svc.Spec.Image
	}
	return c.Spec.Image
}

func bump(m map[string]map[int]int, key string, node int) {
	if key == "" {
		return
	}
	per := m[key]
	if per == nil {
		per = map[int]int{}
		m[key] = per
	}
	per[node]++
}

// add counts container c of service svc (nil when unknown) on node i.
func (cl *cluster) add(i int, c *api.Container, svc *api.Service) {
	cl.count[i]++
	bump(cl.bySvcID, c.Spec.Service, i)
	bump(cl.bySvcName, serviceName(c, svc), i)
	bump(cl.byName, c.Name, i)
	bump(cl.byImage, image(c, svc), i)
	ports := c.Spec.Ports
	if svc != nil {
		cl.cpu[i] += svc.Spec.Reservations.NanoCPUs
		cl.mem[i] += svc.Spec.Reservations.MemoryBytes
		if len(ports) == 0 {
			ports = svc.Spec.Ports
		}
	}
	for _, p := range ports {
		if fixedOnNode(p) {
			cl.taken[portKey{i, p.HostPort, proto(p.Protocol)}] = true
		}
	}
	for _, p := range c.Status.Ports {
		if p.HostPort != 0 {
			cl.taken[portKey{i, p.HostPort, proto(p.Protocol)}] = true
		}
	}
}

// fixedOnNode reports whether p holds a fixed host port on the node that
// runs its container: an ingress port is the routers' (any address counts:
// a port on one address is taken on every other too, which spreads more
// than needed but never places two where one binding fails).
func fixedOnNode(p api.PortSpec) bool {
	return p.HostPort != 0 && p.Mode != api.PortModeIngress
}

func proto(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// matching returns, per node, how many containers have a key (in m) that e
// matches, or nil when none do.
func (cl *cluster) matching(m map[string]map[int]int, e Expr) []int {
	var out []int
	addAll := func(per map[int]int) {
		if out == nil {
			out = make([]int, len(cl.nodes))
		}
		for n, k := range per {
			out[n] += k
		}
	}
	image := e.Key == AffinityImage
	if e.re == nil && !image {
		if per := m[e.Value]; per != nil {
			addAll(per)
		}
		return out
	}
	for key, per := range m {
		if (image && e.MatchesImage(key)) || (!image && e.Matches(key)) {
			addAll(per)
		}
	}
	return out
}
