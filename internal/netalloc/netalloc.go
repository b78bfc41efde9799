// Package netalloc owns the rules of the overlay's numbers: which subnets a
// network may have, its gateway, the VXLAN IDs (VNIs) the cluster hands
// out, the IDs of network objects and address records, and which address a
// slot gets next. The domain layer (networks users create) and the service
// controller (the default network, slot addresses) both write networks
// through it, so that a VNI is claimed in the same transaction as its
// network and never twice.
package netalloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// VNIs the cluster hands out: from FirstVNI up (lower ones are left to
// whatever else runs VXLAN on the hosts) to MaxVNI, VXLAN's 24 bits.
const (
	FirstVNI = 4096
	MaxVNI   = 1<<24 - 1
)

// Subnet sizes a network may have: /8 (16M addresses) to /29 (5 usable
// after the network address, the gateway and the broadcast address).
const (
	MinBits = 8
	MaxBits = 29
)

// ParseSubnet checks a user's subnet: an IPv4 CIDR whose address is the
// network's own ("10.8.0.0/16", not "10.8.1.2/16"), /8 to /29.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errdefs.Invalid("subnet", "subnet %q is not a CIDR such as 10.8.0.0/16", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, errdefs.Invalid("subnet", "subnet %s: only IPv4 subnets are supported", s)
	}
	if p.Bits() < MinBits || p.Bits() > MaxBits {
		return netip.Prefix{}, errdefs.Invalid("subnet", "subnet %s: the prefix length must be /%d to /%d", s, MinBits, MaxBits)
	}
	if p.Masked() != p {
		return netip.Prefix{}, errdefs.Invalid("subnet", "subnet %s has host bits set: did you mean %s?", s, p.Masked())
	}
	if p.Addr().IsLoopback() || p.Addr().IsMulticast() || p.Addr().IsLinkLocalUnicast() || p.Addr().IsUnspecified() {
		return netip.Prefix{}, errdefs.Invalid("subnet", "subnet %s is loopback, link-local, multicast or unspecified: use a private range such as 10.8.0.0/16", s)
	}
	return p, nil
}

// Gateway is the subnet's first address, which every node's bridge holds.
func Gateway(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// Broadcast is the subnet's last address.
func Broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Usable reports whether a slot may hold addr on p: inside it, and not the
// network address, the gateway or the broadcast address.
func Usable(p netip.Prefix, addr netip.Addr) bool {
	return p.Contains(addr) && addr != p.Masked().Addr() && addr != Gateway(p) && addr != Broadcast(p)
}

// Size is how many addresses slots may hold on p.
func Size(p netip.Prefix) int { return 1<<(32-p.Bits()) - 3 }

// NextAddress is the first usable address of p after from (from itself
// when it is invalid) that used does not hold, wrapping around once; false
// when every address is held. Starting after the last one handed out keeps
// a freed address out of use for as long as possible.
func NextAddress(p netip.Prefix, from netip.Addr, used func(netip.Addr) bool) (netip.Addr, bool) {
	first := Gateway(p).Next()
	start := first
	if from.IsValid() && Usable(p, from) && Usable(p, from.Next()) {
		start = from.Next()
	}
	a := start
	for range Size(p) {
		if !used(a) {
			return a, true
		}
		a = a.Next()
		if !Usable(p, a) {
			a = first
		}
	}
	return netip.Addr{}, false
}

// NetworkID is the ID of an organization's network: "<org>.<name>" (names
// hold no "."), "default" for the organization "".
func NetworkID(org, name string) string {
	if org == "" {
		org = "default"
	}
	return org + "." + name
}

// AddressID is the ID of the record of addr on a network.
func AddressID(network string, addr netip.Addr) string { return network + "." + addr.String() }

// vniClaim is what the store keeps under vnis/<vni>: the network that holds it.
type vniClaim struct {
	api.Meta
	Network string `json:"network"`
}

// NewNetwork is the network org would have as name on subnet, with vni.
func NewNetwork(org, name string, subnet netip.Prefix, vni int) *api.Network {
	return &api.Network{
		Meta:    api.Meta{ID: NetworkID(org, name), Name: name, Org: org},
		Subnet:  subnet.String(),
		Gateway: Gateway(subnet).String(),
		VNI:     vni,
		Default: name == api.DefaultNetworkName,
	}
}

// Create queues n and the claim of its VNI in t: the commit fails with
// store.ErrExists when either is taken (another network raced for the VNI:
// read the networks again and pick the next).
func Create(t *store.Txn, n *api.Network) {
	t.Create(store.KindNetworks, n)
	t.Create(store.KindVNIs, &vniClaim{Meta: api.Meta{ID: strconv.Itoa(n.VNI), Org: n.Org}, Network: n.ID})
}

// Remove queues the deletion of n and of its VNI's claim.
func Remove(t *store.Txn, n *api.Network) {
	t.Delete(store.KindNetworks, n.ID, n.Revision)
	t.Delete(store.KindVNIs, strconv.Itoa(n.VNI), 0)
}

// NextVNI is the lowest VNI from FirstVNI that no network in nets holds.
func NextVNI(nets []*api.Network) (int, error) {
	used := make(map[int]bool, len(nets))
	for _, n := range nets {
		used[n.VNI] = true
	}
	for v := FirstVNI; v <= MaxVNI; v++ {
		if !used[v] {
			return v, nil
		}
	}
	return 0, errdefs.New(errdefs.ErrConflict, "every VXLAN ID is taken: remove unused networks")
}

// vniHolders are the networks, plus a stand-in for each VNI claim whose
// network is not there (a claim left behind, or a network being written):
// NextVNI skips both.
func vniHolders(ctx context.Context, st *store.Store) ([]*api.Network, error) {
	nets, _, err := store.ListAll[api.Network](ctx, st, store.KindNetworks)
	if err != nil {
		return nil, err
	}
	claims, _, err := store.ListAll[vniClaim](ctx, st, store.KindVNIs)
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		if v, err := strconv.Atoi(c.ID); err == nil {
			nets = append(nets, &api.Network{VNI: v})
		}
	}
	return nets, nil
}

// EnsureDefault returns org's default network, creating it (10.7.0.0/16,
// the next free VNI) when it does not exist yet. Concurrent callers get
// the same network.
func EnsureDefault(ctx context.Context, st *store.Store, org string) (*api.Network, error) {
	id := NetworkID(org, api.DefaultNetworkName)
	for range 5 {
		n := new(api.Network)
		err := st.Get(ctx, store.KindNetworks, id, n)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		nets, err := vniHolders(ctx, st)
		if err != nil {
			return nil, err
		}
		vni, err := NextVNI(nets)
		if err != nil {
			return nil, err
		}
		n = NewNetwork(org, api.DefaultNetworkName, netip.MustParsePrefix(api.DefaultSubnet), vni)
		t := st.Txn()
		Create(t, n)
		t.Emit(api.Event{Kind: "network", Object: n.ID, Org: org, Name: n.Name, Type: "created",
			Message: fmt.Sprintf("network %s created: %s, VXLAN ID %d", n.Name, n.Subnet, n.VNI)})
		if err := t.Commit(ctx); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, err
		}
	}
	return nil, errdefs.New(errdefs.ErrConflict, "the default network could not be created: too many concurrent changes, try again")
}
