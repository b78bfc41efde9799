package api

import (
	"fmt"
	"net/netip"
)

// Networks: every organization has a private network, "default"
// (10.7.0.0/16, Docker Cloud's), that every service joins unless it names
// others; users may create more with subnets of their own (which must not
// overlap the organization's others). A service's containers get one
// address on each network the service joins. The address belongs to the
// slot, not to a run: a replacement of the slot (restart, redeploy,
// rollout, a move off a lost or drained node) gets the same one, and the
// address is given back when the slot goes (scale-down, removal).
//
// Each node carries each network as a Linux bridge plus a VXLAN device
// (VNI = the network's); the server tells each node where every other
// node's containers are (NetworkState), so nothing floods and nothing is
// learnt. See docs/networking.md.

// DefaultNetworkName and DefaultSubnet are the network every organization
// has.
const (
	DefaultNetworkName = "default"
	DefaultSubnet      = "10.7.0.0/16"
)

// Network is one private network of an organization. Its subnet, gateway
// and VNI never change.
type Network struct {
	Meta
	// Subnet is the network's IPv4 CIDR, at most /29 (5 usable) and at
	// least /8.
	Subnet string `json:"subnet"`
	// Gateway is the subnet's first address: every node's bridge for the
	// network holds it, and each node's resolver answers on it.
	Gateway string `json:"gateway"`
	// VNI is the network's VXLAN network identifier, unique in the
	// cluster (set by the server).
	VNI int `json:"vni"`
	// Default marks the organization's default network.
	Default bool `json:"default,omitempty"`
	// Addresses is how many addresses slots hold (filled on read).
	Addresses int `json:"addresses,omitempty"`
	// Paths says, for each pair of the organization's nodes that run the
	// overlay, how traffic between them goes (filled by inspect).
	Paths []NetworkPath `json:"paths,omitempty"`
}

// NetworkPath is how overlay traffic goes between two nodes: "direct"
// (VXLAN, UDP 4789, node to node) or "relayed" (one of them cannot reach
// the other's VXLAN port, so their frames go through the agents'
// sessions and the server).
type NetworkPath struct {
	From string `json:"from"` // node names
	To   string `json:"to"`
	Via  string `json:"via"`
}

// Overlay paths.
const (
	PathDirect  = "direct"
	PathRelayed = "relayed"
)

// OverlayReport is the body of the agent's POST /agent/v1/overlay: the
// peers (node IDs) it relays to, sent when that changes.
type OverlayReport struct {
	Relayed []string `json:"relayed"`
}

// NetworkCreate is the body of POST /v1/networks.
type NetworkCreate struct {
	Name   string `json:"name"`
	Subnet string `json:"subnet"`
}

// AddressRecord is the store's record of one address held by a slot
// (store kind "addresses", ID "<network ID>.<address>"): the slot keeps it
// until the service scales below it or is removed.
type AddressRecord struct {
	Meta
	Network string `json:"network"` // network ID
	Address string `json:"address"`
	Service string `json:"service"` // service ID
	Slot    int    `json:"slot"`
}

// NetworkAttachment is one address of a container: which network, the
// slot's address on it, and the network's fixed facts (copied at
// creation, so that an agent can set the network up from its assignments
// alone).
type NetworkAttachment struct {
	Network string `json:"network"` // network ID
	Name    string `json:"name"`    // network name
	VNI     int    `json:"vni"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
	IP      string `json:"ip"`
	// Names are the DNS names of the container's service that answer
	// with this container while it is ready: the service's name and, for
	// a stack's service, "<short>.<stack>".
	Names []string `json:"names,omitempty"`
	// Aliases are the DNS names of this container alone: its name
	// ("web-1") and, in a stack, "<short>-<slot>.<stack>".
	Aliases []string `json:"aliases,omitempty"`
	// Stack is the stack of the container's service, if any: a lookup of
	// a short name from this container tries "<name>.<stack>" first.
	Stack string `json:"stack,omitempty"`
}

// MACFor is the MAC address every node uses for a container address:
// 02:77 (locally administered) then the IPv4 address's four bytes, so
// that no node needs to learn it.
func MACFor(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:77:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// NetworkState is what a node needs to know of its organization's
// networks beyond its own containers: the body of PUT /agent/v1/network.
// The server pushes the whole state (level-triggered, as assignments) when
// it changes; the same document goes to every node of the organization,
// and each node skips its own entry in Peers.
type NetworkState struct {
	Revision int64         `json:"revision"`
	Networks []NodeNetwork `json:"networks"`
}

// NodeNetwork is one network as every node of its organization sees it.
type NodeNetwork struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	VNI     int    `json:"vni"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
	// Peers are the nodes with containers on the network: where to send
	// traffic for each container address.
	Peers []NetworkPeer `json:"peers,omitempty"`
	// Names answer DNS queries: a name (lower case, no trailing dot) to
	// its addresses. A service's names list its ready containers only.
	Names map[string][]string `json:"names,omitempty"`
	// Scopes maps a container address to its stack, for the lookup of a
	// short name from that container ("db" from a container of stack s
	// tries "db.s" first).
	Scopes map[string]string `json:"scopes,omitempty"`
}

// NetworkPeer is one node on a network: its VXLAN endpoint (the underlay
// address it gave as Node.OverlayAddress) and the container addresses it
// holds. MACs are MACFor the address.
type NetworkPeer struct {
	Node      string   `json:"node"`
	Address   string   `json:"address"`
	Endpoints []string `json:"endpoints"`
}

// VXLANPort is the UDP port the VXLAN devices use (IANA's).
const VXLANPort = 4789

// VXLANOverhead is what VXLAN encapsulation adds to a frame over IPv4
// (outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14): a network's MTU is the
// underlay's minus this.
const VXLANOverhead = 50
