package domain

// The network operations: create, list, inspect and remove an
// organization's networks. The numbers (subnets, gateways, VNIs, IDs) are
// internal/netalloc's rules; a network's ID is "<org>.<name>", so the ID
// itself holds the name unique in its organization and networks have no
// separate name index.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// networkAttempts bounds CreateNetwork's retries when another network
// takes the VNI it picked.
const networkAttempts = 5

func networkEvent(n *api.Network, typ, msg string) api.Event {
	return api.Event{Kind: "network", Object: n.ID, Org: n.Org, Name: n.Name, Type: typ, Message: "network " + n.Name + " " + msg}
}

// validateNetworkName checks the name of a network a user creates: a
// service name's rules (it is a DNS label and part of the network's ID),
// and not the reserved "default".
func validateNetworkName(name string) error {
	if !serviceNameRE.MatchString(name) {
		return errdefs.Invalid("name", "network name %q must match %s (lower case letters, digits and '-')", name, serviceNameRE)
	}
	if name == api.DefaultNetworkName {
		return errdefs.Invalid("name", "%q is the name of the organization's default network, which exists already: pick another name", name)
	}
	return nil
}

// resolveNetwork finds a network of the actor's organization by ID, then
// by name. Another organization's network is not found.
func (d *Domain) resolveNetwork(ctx context.Context, a Actor, ref string) (*api.Network, error) {
	var n api.Network
	err := d.st.Get(ctx, store.KindNetworks, ref, &n)
	if err == nil && a.owns(&n.Meta) {
		return &n, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if serviceNameRE.MatchString(ref) {
		n = api.Network{}
		err := d.st.Get(ctx, store.KindNetworks, netalloc.NetworkID(a.orgOf(), ref), &n)
		if err == nil && a.owns(&n.Meta) {
			return &n, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, notFoundErr("network", ref)
}

// orgNetworks are the actor's organization's networks among all.
func orgNetworks(a Actor, all []*api.Network) []*api.Network {
	var out []*api.Network
	for _, n := range all {
		if a.owns(&n.Meta) {
			out = append(out, n)
		}
	}
	return out
}

// subnetsOf are the networks' subnets, plus the default network's when
// none of them is the default network (it is made on first use, and its
// subnet is the organization's all the same). Unreadable subnets are
// skipped.
func subnetsOf(nets []*api.Network) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(nets)+1)
	hasDefault := false
	for _, n := range nets {
		hasDefault = hasDefault || n.Name == api.DefaultNetworkName
		if p, err := netip.ParsePrefix(n.Subnet); err == nil {
			out = append(out, p)
		}
	}
	if !hasDefault {
		out = append(out, netip.MustParsePrefix(api.DefaultSubnet))
	}
	return out
}

// overlapErr names the network of nets whose subnet overlaps p.
func overlapErr(p netip.Prefix, nets []*api.Network) error {
	taken, ok := netalloc.Overlapping(p, subnetsOf(nets))
	if !ok {
		return nil
	}
	owner := api.DefaultNetworkName
	for _, n := range nets {
		if n.Subnet == taken.String() {
			owner = n.Name
		}
	}
	return newErr(errdefs.ErrConflict, "subnet %s overlaps network %q (%s): an organization's networks must not share addresses; pick another subnet", p, owner, taken)
}

// CreateNetwork creates a network of the actor's organization with the
// subnet the user chose and the cluster's next free VNI. It refuses an
// actor without networks Write, a bad or reserved name, a bad subnet, a
// subnet overlapping another network of the organization and a name
// already taken (conflicts).
func (d *Domain) CreateNetwork(ctx context.Context, a Actor, req api.NetworkCreate) (*api.Network, error) {
	if err := a.need(NetworksWrite); err != nil {
		return nil, err
	}
	if err := validateNetworkName(req.Name); err != nil {
		return nil, err
	}
	if req.Subnet == "" {
		return nil, errdefs.Invalid("subnet", "required: the network's IPv4 subnet, such as 10.8.0.0/16 (wharf network create %s --subnet 10.8.0.0/16)", req.Name)
	}
	p, err := netalloc.ParseSubnet(req.Subnet)
	if err != nil {
		return nil, err
	}
	id := netalloc.NetworkID(a.orgOf(), req.Name)
	noteObject(ctx, id)
	for attempt := 1; ; attempt++ {
		all, _, err := store.ListAll[api.Network](ctx, d.st, store.KindNetworks)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(all, func(n *api.Network) bool { return n.ID == id }) {
			return nil, newErr(errdefs.ErrConflict, "a network named %q already exists", req.Name)
		}
		if err := overlapErr(p, orgNetworks(a, all)); err != nil {
			return nil, err
		}
		vni, err := netalloc.NextVNI(all)
		if err != nil {
			return nil, err
		}
		n := netalloc.NewNetwork(a.orgOf(), req.Name, p, vni)
		t := d.st.Txn()
		netalloc.Create(t, n)
		t.Emit(networkEvent(n, "created", fmt.Sprintf("created: %s, gateway %s, VXLAN ID %d", n.Subnet, n.Gateway, n.VNI)))
		err = t.Commit(ctx)
		switch {
		case err == nil:
			return n, nil
		case !errors.Is(err, store.ErrExists):
			return nil, err
		case attempt == networkAttempts:
			return nil, newErr(errdefs.ErrConflict, "network %q could not be created: other networks were being created at the same time; retry", req.Name)
		}
		// Another network took the VNI, or this name: read again.
	}
}

// addressCounts counts the address records slots hold, per network ID.
func (d *Domain) addressCounts(ctx context.Context) (map[string]int, error) {
	recs, _, err := store.ListAll[api.AddressRecord](ctx, d.st, store.KindAddresses)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range recs {
		out[r.Network]++
	}
	return out, nil
}

// ListNetworks lists the actor's organization's networks, the default
// network first (made now if it was not yet), then by name, each with
// the number of addresses slots hold on it. It refuses an actor without
// networks Read.
func (d *Domain) ListNetworks(ctx context.Context, a Actor) (api.List[api.Network], error) {
	out := api.List[api.Network]{Items: []api.Network{}}
	if err := a.need(NetworksView); err != nil {
		return out, err
	}
	if _, err := netalloc.EnsureDefault(ctx, d.st, a.orgOf()); err != nil {
		return out, err
	}
	all, _, err := store.ListAll[api.Network](ctx, d.st, store.KindNetworks)
	if err != nil {
		return out, err
	}
	counts, err := d.addressCounts(ctx)
	if err != nil {
		return out, err
	}
	for _, n := range orgNetworks(a, all) {
		n.Addresses = counts[n.ID]
		out.Items = append(out.Items, *n)
	}
	slices.SortFunc(out.Items, func(x, y api.Network) int {
		if (x.Name == api.DefaultNetworkName) != (y.Name == api.DefaultNetworkName) {
			if x.Name == api.DefaultNetworkName {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, nil
}

// InspectNetwork reads a network of the actor's organization by ID or
// name ("default" is made now if it was not yet), with the number of
// addresses slots hold on it. It refuses an actor without networks Read.
func (d *Domain) InspectNetwork(ctx context.Context, a Actor, ref string) (*api.Network, error) {
	if err := a.need(NetworksView); err != nil {
		return nil, err
	}
	if ref == api.DefaultNetworkName {
		if _, err := netalloc.EnsureDefault(ctx, d.st, a.orgOf()); err != nil {
			return nil, err
		}
	}
	n, err := d.resolveNetwork(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	counts, err := d.addressCounts(ctx)
	if err != nil {
		return nil, err
	}
	n.Addresses = counts[n.ID]
	if n.Paths, err = d.overlayPaths(ctx, n.Org); err != nil {
		return nil, err
	}
	return n, nil
}

// overlayPaths is, for each pair of org's connected nodes that run the
// overlay, whether their traffic goes direct or is relayed (either of
// them said it cannot reach the other).
func (d *Domain) overlayPaths(ctx context.Context, org string) ([]api.NetworkPath, error) {
	nodes, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
	if err != nil {
		return nil, err
	}
	var on []*api.Node
	for _, n := range nodes {
		if OrgName(n.Org) == OrgName(org) && n.OverlayAddress != "" && n.State == api.NodeDeployed {
			on = append(on, n)
		}
	}
	slices.SortFunc(on, func(a, b *api.Node) int { return strings.Compare(a.Name, b.Name) })
	var paths []api.NetworkPath
	for i, a := range on {
		for _, b := range on[i+1:] {
			via := api.PathDirect
			if slices.Contains(a.OverlayRelayed, b.ID) || slices.Contains(b.OverlayRelayed, a.ID) {
				via = api.PathRelayed
			}
			paths = append(paths, api.NetworkPath{From: a.Name, To: b.Name, Via: via})
		}
	}
	return paths, nil
}

// networkUsers are the names of the services of n's organization whose
// spec joins n. The previous spec a rollback would return to does not
// count (unlike a secret's users): it is kept for ever, and would keep a
// network that a service left from ever being removed. A rollback to a
// spec that joins a removed network meets a missing network.
func (d *Domain) networkUsers(ctx context.Context, n *api.Network) ([]string, error) {
	all, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, svc := range all {
		if OrgName(svc.Org) != OrgName(n.Org) {
			continue
		}
		if slices.Contains(svc.Spec.Networks, n.Name) {
			out = append(out, svc.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// RemoveNetwork deletes a network of the actor's organization and gives
// back its VNI. It refuses an actor without networks Write, the default
// network, a network a service joins (a conflict naming the services)
// and one on which slots still hold addresses (their containers are
// being removed: retry).
func (d *Domain) RemoveNetwork(ctx context.Context, a Actor, ref string) error {
	if err := a.need(NetworksWrite); err != nil {
		return err
	}
	if ref == api.DefaultNetworkName {
		return errdefs.Invalid("network", "the default network cannot be removed: every organization has it, and services that name no network join it")
	}
	n, err := d.resolveNetwork(ctx, a, ref)
	if err != nil {
		return err
	}
	noteObject(ctx, n.ID)
	if n.Default || n.Name == api.DefaultNetworkName {
		return errdefs.Invalid("network", "the default network cannot be removed: every organization has it, and services that name no network join it")
	}
	users, err := d.networkUsers(ctx, n)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return newErr(errdefs.ErrConflict, "network %q is used by service %s: remove it from their networks (wharf service update SERVICE) or remove them first", n.Name, strings.Join(users, ", "))
	}
	counts, err := d.addressCounts(ctx)
	if err != nil {
		return err
	}
	if c := counts[n.ID]; c > 0 {
		return newErr(errdefs.ErrConflict, "network %q still has %d addresses held by containers being removed; retry when they are gone", n.Name, c)
	}
	t := d.st.Txn()
	netalloc.Remove(t, n)
	t.Emit(networkEvent(n, "deleted", "deleted"))
	return explainWrite(t.Commit(ctx), "network", ref)
}

// CheckNetworkRefs reports an invalid error naming the first network of
// spec.Networks that the actor's organization does not have ("default"
// it always has; the names of joined, which a service joins already, are
// not checked again); field is where spec is ("spec").
func (d *Domain) CheckNetworkRefs(ctx context.Context, a Actor, spec *api.ServiceSpec, field string, joined []string) error {
	for i, name := range spec.Networks {
		if name == api.DefaultNetworkName || slices.Contains(joined, name) {
			continue
		}
		var n api.Network
		err := d.st.Get(ctx, store.KindNetworks, netalloc.NetworkID(a.orgOf(), name), &n)
		if errors.Is(err, store.ErrNotFound) || err == nil && !a.owns(&n.Meta) {
			return errdefs.Invalid(fmt.Sprintf("%s.networks[%d]", field, i), "network %q does not exist: create it first (wharf network create %s --subnet CIDR)", name, name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
