package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netalloc"
)

// Addresses (issue 15): every container the slots reconciler makes gets
// one address on each network its service joins (Spec.Networks, or the
// organization's default network, created on first need). The address
// belongs to the slot: it is an api.AddressRecord (store kind
// "addresses") naming the service and slot, created with the slot's first
// container in the same transaction, create-only, so that no two writers
// ever hold one address. A later container of the slot (a restart, a
// redeploy or rollout, a move off a lost or drained node) reuses it. A
// record is deleted once no container of its service holds its address
// and its slot is no longer wanted (scale-down, removal) or its service no
// longer joins the network. A network with no free address, or one that
// does not exist, leaves the slot without a container and says why in the
// service's pending reasons; the other slots carry on.

// addressReconciler gives new containers their addresses and gives back
// those no slot needs. It works over the shared cache (networks, address
// records, stacks) and the pass's own allocations (Services.alloc).
type addressReconciler struct{ *Services }

// addresses returns the address reconciler over c's cache.
func (c *Services) addresses() addressReconciler { return addressReconciler{c} }

// passAlloc is what one pass has handed out and tried beyond the cache:
// addresses given to containers not written yet, and the organizations
// whose default network it tried to create (with the error, if any).
type passAlloc struct {
	ctx      context.Context  // the pass's, for the default network's creation
	reserved map[string]bool  // address record IDs
	defaults map[string]error // by organization
	full     map[string]bool  // networks found full (by ID): not searched again
}

func newPassAlloc(ctx context.Context) *passAlloc {
	return &passAlloc{ctx: ctx, reserved: map[string]bool{}, defaults: map[string]error{}, full: map[string]bool{}}
}

// holdNet leaves one slot of p without a container for a network reason.
func (p *plan) holdNet(reason string) {
	p.netHeld++
	if p.pending == nil {
		p.pending = map[string]bool{}
	}
	if !p.pending[reason] {
		p.pending[reason] = true
		p.netUnmet = append(p.netUnmet, reason)
	}
}

// networkNames are the names of the networks svc joins, in its order,
// without repeats: the default network when it names none, and none at
// all in network mode host or none (the container is on the node's
// network, or on no network).
func networkNames(svc *api.Service) []string {
	if m := svc.Spec.NetworkMode; m == "host" || m == "none" {
		return nil
	}
	if len(svc.Spec.Networks) == 0 {
		return []string{api.DefaultNetworkName}
	}
	out := make([]string, 0, len(svc.Spec.Networks))
	for _, n := range svc.Spec.Networks {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// attach returns the attachments of p's service's new container name in
// slot, and the address records to create with it. When a network is
// missing or full it records why in p and returns false: the slot waits.
func (c addressReconciler) attach(p *plan, slot int, name string) ([]api.NetworkAttachment, []*api.AddressRecord, bool) {
	svc := p.svc
	names, aliases, stack := c.dnsNames(svc, slot, name)
	var atts []api.NetworkAttachment
	var recs []*api.AddressRecord
	for _, netName := range networkNames(svc) {
		n, reason := c.network(p, netName)
		if n == nil {
			p.holdNet(reason)
			return nil, nil, false
		}
		prefix, err := netip.ParsePrefix(n.Subnet)
		if err != nil || !prefix.Addr().Is4() {
			p.holdNet(fmt.Sprintf("network %s has an invalid subnet %q: remove the network and create it again", n.Name, n.Subnet))
			return nil, nil, false
		}
		ip, rec, ok := c.address(svc, slot, name, n, prefix)
		if !ok {
			p.holdNet(fmt.Sprintf("network %s (%s) has no free address (its %d are held by slots): scale services down, remove some, or create a bigger network and join it",
				n.Name, n.Subnet, netalloc.Size(prefix)))
			return nil, nil, false
		}
		if rec != nil {
			recs = append(recs, rec)
		}
		atts = append(atts, api.NetworkAttachment{
			Network: n.ID, Name: n.Name, VNI: n.VNI, Subnet: n.Subnet, Gateway: n.Gateway, IP: ip.String(),
			Names: slices.Clone(names), Aliases: slices.Clone(aliases), Stack: stack,
		})
	}
	return atts, recs, true
}

// dnsNames are the DNS names of a container of svc in slot (lower case):
// the service's names (its name and, in a stack, "<short>.<stack>"), the
// container's own (its name and, in a stack, "<short>-<slot>.<stack>"),
// and its stack's name.
func (c addressReconciler) dnsNames(svc *api.Service, slot int, name string) (names, aliases []string, stack string) {
	svcName := strings.ToLower(svc.Name)
	names = []string{svcName}
	aliases = []string{strings.ToLower(name)}
	if svc.Stack == "" {
		return names, aliases, ""
	}
	stack = strings.ToLower(c.cache.stacks[svc.Stack])
	if stack == "" {
		return names, aliases, "" // the stack is gone: its services are going too
	}
	short := strings.TrimPrefix(svcName, stack+"-")
	names = append(names, short+"."+stack)
	aliases = append(aliases, short+"-"+strconv.Itoa(slot)+"."+stack)
	return names, aliases, stack
}

// network resolves a network name of p's service within its organization,
// creating the organization's default network on first need (once per
// pass and organization). It returns nil and the reason when there is
// none.
func (c addressReconciler) network(p *plan, name string) (*api.Network, string) {
	svc := p.svc
	id := netalloc.NetworkID(svc.Org, name)
	if n := c.cache.networks[id]; n != nil {
		return n, ""
	}
	org := orgName(svc.Org)
	if name != api.DefaultNetworkName {
		return nil, fmt.Sprintf("network %s does not exist in organization %s: create it (wharf network create %s --subnet <CIDR>) or take it out of the service's networks", name, org, name)
	}
	err, tried := c.alloc.defaults[org]
	if !tried {
		var n *api.Network
		n, err = c.ensureDefault(svc.Org)
		c.alloc.defaults[org] = err
		if err == nil {
			c.cache.networks[n.ID] = n // the watch brings it too
			return n, ""
		}
		c.log.Warn("cannot create the default network", "org", org, "err", err)
	}
	p.retry = true
	return nil, fmt.Sprintf("the default network of organization %s could not be created (retrying): %v", org, err)
}

// ensureDefault creates (or reads) org's default network in the store.
func (c addressReconciler) ensureDefault(org string) (*api.Network, error) {
	if c.st == nil {
		return nil, errors.New("no store")
	}
	return netalloc.EnsureDefault(c.alloc.ctx, c.st, org)
}

// address is slot's address on network n: the slot's record when it has
// one that fits the subnet, else the next free address, with the record to
// create; false when the subnet is full.
func (c addressReconciler) address(svc *api.Service, slot int, name string, n *api.Network, prefix netip.Prefix) (netip.Addr, *api.AddressRecord, bool) {
	if rec := c.slotRecord(svc.ID, slot, n); rec != nil {
		a, _ := netip.ParseAddr(rec.Address)
		return a, nil, true
	}
	if c.alloc.full[n.ID] {
		return netip.Addr{}, nil, false
	}
	used := func(a netip.Addr) bool {
		id := netalloc.AddressID(n.ID, a)
		return c.cache.addrs[id] != nil || c.alloc.reserved[id]
	}
	a, ok := netalloc.NextAddress(prefix, c.lastAddr[n.ID], used)
	if !ok {
		c.alloc.full[n.ID] = true
		return netip.Addr{}, nil, false
	}
	rec := &api.AddressRecord{
		Meta:    api.Meta{ID: netalloc.AddressID(n.ID, a), Name: name, Org: svc.Org},
		Network: n.ID, Address: a.String(), Service: svc.ID, Slot: slot,
	}
	c.alloc.reserved[rec.ID] = true
	c.lastAddr[n.ID] = a
	return a, rec, true
}

// slotRecord is the record of service's slot on network n whose address
// fits n's subnet (a network made again with another subnet leaves records
// that do not), or nil.
func (c addressReconciler) slotRecord(service string, slot int, n *api.Network) *api.AddressRecord {
	fits := func(rec *api.AddressRecord) bool {
		return rec != nil && recordFits(rec, n)
	}
	if rec := c.cache.slotAddr[slotNet{service, slot, n.ID}]; fits(rec) {
		return rec
	}
	var best *api.AddressRecord
	for _, rec := range c.cache.addrsBySvc[service] {
		if rec.Slot == slot && rec.Network == n.ID && fits(rec) && (best == nil || rec.ID < best.ID) {
			best = rec
		}
	}
	return best
}

// recordFits: rec's address is one a slot may hold on n (n nil: unknown,
// so it may).
func recordFits(rec *api.AddressRecord, n *api.Network) bool {
	if n == nil {
		return true
	}
	a, err := netip.ParseAddr(rec.Address)
	if err != nil {
		return false
	}
	prefix, err := netip.ParsePrefix(n.Subnet)
	return err == nil && netalloc.Usable(prefix, a)
}

// release queues in p the deletion of the records of p's service that
// nothing needs: no cached container of the service holds the address,
// and the slot is not wanted (scaled down, service removed), or the
// service no longer joins the network, or another record is the slot's.
// A container deleted in this pass still holds its address: the record
// goes in a later pass, once the deletion is in the cache, so an address
// is never free while a container may still use it.
func (c addressReconciler) release(p *plan) {
	recs := c.cache.addrsBySvc[p.id]
	if len(recs) == 0 {
		return
	}
	held := map[string]bool{}
	for _, ct := range c.cache.byService[p.id] {
		for _, a := range ct.Spec.Networks {
			if ip, err := netip.ParseAddr(a.IP); err == nil {
				held[netalloc.AddressID(a.Network, ip)] = true
			}
		}
	}
	joined := map[string]bool{}
	live := p.svc != nil && !p.svc.Terminating
	if live {
		for _, name := range networkNames(p.svc) {
			joined[netalloc.NetworkID(p.svc.Org, name)] = true
		}
	}
	ids := make([]string, 0, len(recs))
	for id := range recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := recs[id]
		if held[id] {
			continue
		}
		if live && p.wanted[rec.Slot] && joined[rec.Network] {
			n := c.cache.networks[rec.Network]
			if n == nil || c.slotRecord(p.id, rec.Slot, n) == rec {
				continue
			}
		}
		p.release = append(p.release, rec)
	}
}
