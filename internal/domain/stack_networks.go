package domain

import (
	"context"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// stackNetworks are the networks a deploy of spec creates: those its
// services join that the actor's organization does not have ("default"
// it always has, made on first use), sorted by name, each on the first
// free /16 (netalloc.FreeSubnet) with the next free VNI. The deploy
// writes them in its own transaction, so a VNI or name taken meanwhile
// fails the commit with store.ErrExists, and DeployStack plans again.
func (d *Domain) stackNetworks(ctx context.Context, a Actor, spec api.StackSpec) ([]*api.Network, error) {
	var names []string
	for _, ss := range spec.Services {
		for _, n := range ss.Spec.Networks {
			if n != api.DefaultNetworkName && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	all, _, err := store.ListAll[api.Network](ctx, d.st, store.KindNetworks)
	if err != nil {
		return nil, err
	}
	mine := orgNetworks(a, all)
	subnets := subnetsOf(mine)
	var out []*api.Network
	for _, name := range names {
		id := netalloc.NetworkID(a.orgOf(), name)
		if slices.ContainsFunc(mine, func(n *api.Network) bool { return n.ID == id }) {
			continue
		}
		p, err := netalloc.FreeSubnet(subnets)
		if err != nil {
			return nil, err
		}
		vni, err := netalloc.NextVNI(append(slices.Clone(all), out...))
		if err != nil {
			return nil, err
		}
		n := netalloc.NewNetwork(a.orgOf(), name, p, vni)
		out = append(out, n)
		subnets = append(subnets, p)
	}
	return out, nil
}
