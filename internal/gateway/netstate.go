package gateway

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
)

// netState mirrors, per organization, what its nodes must know of its
// overlay networks (api.NetworkState): which node holds which container
// address, and which names answer with which addresses. It is fed by the
// assigner's watch of containers and nodes; a change marks the
// organization dirty, and a flush sends each of its connected nodes that
// runs the overlay the one document, encoded once.
type netState struct {
	g *Gateway

	mu    sync.Mutex
	ctrs  map[string]netCtr     // container ID -> what the overlay needs of it
	nodes map[string]netNode    // node ID -> its org and VXLAN address
	dirty map[string]bool       // orgs whose document changed
	docs  map[string]*netDocRef // org -> the last document built
}

// netCtr is a container as the overlay sees it; only containers with
// addresses are kept.
type netCtr struct {
	org     string
	node    string
	running bool // desired Running and running
	ready   bool // running and healthy
	live    bool // desired Running: its addresses belong on its node
	created time.Time
	nets    []api.NetworkAttachment
}

type netNode struct {
	org     string
	address string // Node.OverlayAddress; "" runs no overlay
}

// netDocRef is one organization's encoded document.
type netDocRef struct {
	rev  int64
	body []byte
}

func newNetState(g *Gateway) *netState {
	return &netState{g: g, ctrs: map[string]netCtr{}, nodes: map[string]netNode{},
		dirty: map[string]bool{}, docs: map[string]*netDocRef{}}
}

func orgOf(o string) string {
	if o == "" {
		return "default"
	}
	return o
}

// container folds in a container's latest form (nil: deleted) and reports
// whether its organization's document changed.
func (n *netState) container(id string, c *api.Container) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, had := n.ctrs[id]
	if c == nil || len(c.Spec.Networks) == 0 || c.Spec.Node == "" {
		if !had {
			return false
		}
		delete(n.ctrs, id)
		n.dirty[old.org] = true
		return true
	}
	live := c.Spec.Desired == api.ContainerRunning
	nc := netCtr{org: orgOf(c.Org), node: c.Spec.Node, live: live, created: c.CreatedAt,
		running: live && c.Status.State == api.ContainerRunning, ready: live && c.Ready(), nets: c.Spec.Networks}
	if had && old.org == nc.org && old.node == nc.node && old.live == nc.live && old.running == nc.running &&
		old.ready == nc.ready && slices.EqualFunc(old.nets, nc.nets, sameAttachment) {
		return false
	}
	n.ctrs[id] = nc
	n.dirty[nc.org] = true
	if had && old.org != nc.org {
		n.dirty[old.org] = true
	}
	return true
}

func sameAttachment(a, b api.NetworkAttachment) bool {
	return a.Network == b.Network && a.IP == b.IP && a.VNI == b.VNI && a.Stack == b.Stack &&
		slices.Equal(a.Names, b.Names) && slices.Equal(a.Aliases, b.Aliases)
}

// node folds in a node's latest form (nil: deleted).
func (n *netState) node(id string, nd *api.Node) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, had := n.nodes[id]
	if nd == nil {
		if !had {
			return false
		}
		delete(n.nodes, id)
		n.dirty[old.org] = true
		return true
	}
	nn := netNode{org: orgOf(nd.Org), address: nd.OverlayAddress}
	if had && old == nn {
		return false
	}
	n.nodes[id] = nn
	n.dirty[nn.org] = true
	return true
}

// reset forgets everything before a full list is folded in again.
func (n *netState) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.ctrs {
		n.dirty[c.org] = true
	}
	clear(n.ctrs)
	clear(n.nodes)
}

// flush builds the document of every dirty organization at rev and offers
// it to the organization's connected overlay nodes.
func (n *netState) flush(rev int64) {
	n.mu.Lock()
	orgs := slices.Sorted(maps.Keys(n.dirty))
	clear(n.dirty)
	// Only organizations with a node that runs the overlay get a
	// document: the others' is built, on demand, when one says hello.
	overlay := map[string]bool{}
	for _, nd := range n.nodes {
		if nd.address != "" {
			overlay[nd.org] = true
		}
	}
	built := make(map[string]*netDocRef, len(orgs))
	for _, org := range orgs {
		if !overlay[org] {
			delete(n.docs, org) // stale now; built again when needed
			continue
		}
		if ref := n.encode(org, rev); ref != nil {
			built[org] = ref
		}
	}
	targets := map[string]*netDocRef{}
	for id, nd := range n.nodes {
		if ref := built[nd.org]; ref != nil && nd.address != "" {
			targets[id] = ref
		}
	}
	n.mu.Unlock()
	for id, ref := range targets {
		if s := n.g.session(id); s != nil {
			s.offerNetwork(ref.rev, ref.body)
		}
	}
}

// pushNode offers a node (one that just said hello) its organization's
// current document.
func (n *netState) pushNode(id string, rev int64) {
	n.mu.Lock()
	nd, ok := n.nodes[id]
	if !ok || nd.address == "" {
		n.mu.Unlock()
		return
	}
	ref := n.docs[nd.org]
	if ref == nil {
		ref = n.encode(nd.org, rev)
	}
	n.mu.Unlock()
	if ref == nil {
		return
	}
	if s := n.g.session(id); s != nil {
		s.offerNetwork(ref.rev, ref.body)
	}
}

// encode builds and encodes org's document at rev and keeps it; nil when
// it does not encode. n.mu is held.
func (n *netState) encode(org string, rev int64) *netDocRef {
	body, err := json.Marshal(n.build(org, rev))
	if err != nil {
		n.g.log.Error("encode network state", "org", org, "err", err)
		return nil
	}
	ref := &netDocRef{rev: rev, body: body}
	n.docs[org] = ref
	return ref
}

// build is org's document; n.mu is held.
func (n *netState) build(org string, rev int64) *api.NetworkState {
	type netAcc struct {
		net    api.NodeNetwork
		peers  map[string][]string // node -> addresses
		names  map[string][]string
		scopes map[string]string
	}
	// While a slot's old container and its replacement are both live (a
	// drain moves the slot: the old one runs until the new one does), the
	// address is where the running one is, the newer if both run.
	owner := map[[2]string]string{} // network, address -> container ID
	ids := slices.Sorted(maps.Keys(n.ctrs))
	for _, id := range ids {
		c := n.ctrs[id]
		if c.org != org || !c.live {
			continue
		}
		for _, att := range c.nets {
			k := [2]string{att.Network, att.IP}
			if cur, ok := owner[k]; !ok || better(c, n.ctrs[cur]) {
				owner[k] = id
			}
		}
	}
	acc := map[string]*netAcc{}
	for _, id := range ids {
		c := n.ctrs[id]
		if c.org != org || !c.live {
			continue
		}
		nd, ok := n.nodes[c.node]
		if !ok {
			continue
		}
		for _, att := range c.nets {
			if owner[[2]string{att.Network, att.IP}] != id {
				continue
			}
			a := acc[att.Network]
			if a == nil {
				a = &netAcc{net: api.NodeNetwork{ID: att.Network, Name: att.Name, VNI: att.VNI, Subnet: att.Subnet, Gateway: att.Gateway},
					peers: map[string][]string{}, names: map[string][]string{}, scopes: map[string]string{}}
				acc[att.Network] = a
			}
			if nd.address != "" {
				a.peers[c.node] = append(a.peers[c.node], att.IP)
			}
			if att.Stack != "" {
				a.scopes[att.IP] = att.Stack
			}
			if c.running {
				for _, alias := range att.Aliases {
					addName(a.names, alias, att.IP)
				}
			}
			if c.ready {
				for _, name := range att.Names {
					addName(a.names, name, att.IP)
					addName(a.names, "tasks."+name, att.IP)
				}
			}
		}
	}
	doc := &api.NetworkState{Revision: rev, Networks: make([]api.NodeNetwork, 0, len(acc))}
	for _, id := range slices.Sorted(maps.Keys(acc)) {
		a := acc[id]
		for _, node := range slices.Sorted(maps.Keys(a.peers)) {
			a.net.Peers = append(a.net.Peers, api.NetworkPeer{Node: node, Address: n.nodes[node].address, Endpoints: a.peers[node]})
		}
		if len(a.names) > 0 {
			a.net.Names = a.names
		}
		if len(a.scopes) > 0 {
			a.net.Scopes = a.scopes
		}
		doc.Networks = append(doc.Networks, a.net)
	}
	return doc
}

// better reports whether a holds a contested address rather than b: a
// running container before one that is not, then the newer.
func better(a, b netCtr) bool {
	if a.running != b.running {
		return a.running
	}
	return a.created.After(b.created)
}

func addName(names map[string][]string, name, ip string) {
	name = strings.ToLower(name)
	if !slices.Contains(names[name], ip) {
		names[name] = append(names[name], ip)
	}
}
