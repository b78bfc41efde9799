package netalloc

import (
	"net/netip"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// The range FreeSubnet picks automatic subnets from: the /16s of
// 10.8.0.0 to 10.254.0.0 (10.7.0.0/16 is every organization's default
// network).
const (
	firstAutoOctet = 8
	lastAutoOctet  = 254
)

// Overlapping is the first prefix of existing that shares an address
// with p, and whether there is one.
func Overlapping(p netip.Prefix, existing []netip.Prefix) (netip.Prefix, bool) {
	for _, e := range existing {
		if e.Overlaps(p) {
			return e, true
		}
	}
	return netip.Prefix{}, false
}

// FreeSubnet is the first /16 from 10.8.0.0/16 up to 10.254.0.0/16 that
// overlaps none of existing (an organization's networks): the subnet a
// network gets when nobody chose one (a compose network a stack creates).
func FreeSubnet(existing []netip.Prefix) (netip.Prefix, error) {
	for o := firstAutoOctet; o <= lastAutoOctet; o++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(o), 0, 0}), 16)
		if _, taken := Overlapping(p, existing); !taken {
			return p, nil
		}
	}
	return netip.Prefix{}, errdefs.New(errdefs.ErrConflict, "no free /16 is left from 10.8.0.0/16 to 10.254.0.0/16 for a new network: create the network yourself with a subnet of your choice (wharf network create NAME --subnet CIDR), or remove unused networks")
}
