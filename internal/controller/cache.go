package controller

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// listPage is how many objects one list request reads.
const listPage = 1000

// cache is the controller's copy of services, containers, nodes, networks,
// slot addresses and stacks, fed by one consistent list and then by the
// watch. Objects in it are never
// mutated: reconcile copies before changing anything. It is owned by the
// Run goroutine alone.
type cache struct {
	// rev is the highest store revision of any change applied; every change
	// up to it is in the cache.
	rev        int64
	services   map[string]*api.Service
	containers map[string]*api.Container
	nodes      map[string]*api.Node
	// byService indexes containers by Spec.Service.
	byService map[string]map[string]*api.Container
	// byName maps a service's name, qualified by its organization
	// (qualName), to its ID (the API keeps names unique per
	// organization).
	byName map[string]string
	// dependants maps a qualified service name to the IDs of the
	// services of its organization whose Spec.DependsOn names it (the
	// name may not exist yet).
	dependants map[string]map[string]bool
	// Networks by ID, and the stacks' names by stack ID (a stack
	// service's DNS names carry its stack's name).
	networks map[string]*api.Network
	stacks   map[string]string
	// addrs are the slots' address records by ID (the set of used
	// addresses: an address is taken when its record exists), indexed by
	// service (addrsBySvc) and by slot and network (slotAddr, one per
	// slot and network: the lowest ID if several).
	addrs      map[string]*api.AddressRecord
	addrsBySvc map[string]map[string]*api.AddressRecord
	slotAddr   map[slotNet]*api.AddressRecord
}

// slotNet names one slot of a service on one network.
type slotNet struct {
	service string
	slot    int
	network string
}

func newCache() *cache {
	return &cache{
		services:   map[string]*api.Service{},
		containers: map[string]*api.Container{},
		nodes:      map[string]*api.Node{},
		byService:  map[string]map[string]*api.Container{},
		byName:     map[string]string{},
		dependants: map[string]map[string]bool{},
		networks:   map[string]*api.Network{},
		stacks:     map[string]string{},
		addrs:      map[string]*api.AddressRecord{},
		addrsBySvc: map[string]map[string]*api.AddressRecord{},
		slotAddr:   map[slotNet]*api.AddressRecord{},
	}
}

// loadCache lists the kinds it follows at one store revision.
func loadCache(ctx context.Context, st *store.Store) (*cache, error) {
	c := newCache()
	services, rev, err := listAt[api.Service](ctx, st, store.KindServices, 0)
	if err != nil {
		return nil, err
	}
	containers, _, err := listAt[api.Container](ctx, st, store.KindContainers, rev)
	if err != nil {
		return nil, err
	}
	nodes, _, err := listAt[api.Node](ctx, st, store.KindNodes, rev)
	if err != nil {
		return nil, err
	}
	networks, _, err := listAt[api.Network](ctx, st, store.KindNetworks, rev)
	if err != nil {
		return nil, err
	}
	addrs, _, err := listAt[api.AddressRecord](ctx, st, store.KindAddresses, rev)
	if err != nil {
		return nil, err
	}
	stacks, _, err := listAt[api.Meta](ctx, st, store.KindStacks, rev)
	if err != nil {
		return nil, err
	}
	c.rev = rev
	for _, n := range networks {
		c.networks[n.ID] = n
	}
	for _, a := range addrs {
		c.putAddr(a)
	}
	for _, m := range stacks {
		c.stacks[m.ID] = m.Name
	}
	for _, s := range services {
		c.putService(s)
	}
	for _, n := range nodes {
		c.nodes[n.ID] = n
	}
	for _, ct := range containers {
		c.putContainer(ct)
	}
	return c, nil
}

// listAt reads every object of a kind, page by page, at revision rev (0:
// the current one, which it returns).
func listAt[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind string, rev int64) ([]*T, int64, error) {
	var out []*T
	after := ""
	for {
		res, err := st.List(ctx, kind, store.ListOptions{After: after, Limit: listPage, Revision: rev})
		if err != nil {
			return nil, 0, fmt.Errorf("list %s: %w", kind, err)
		}
		if rev == 0 {
			rev = res.Revision
		}
		for _, raw := range res.Items {
			var v *T
			if kind == store.KindContainers {
				// Read only, as everything cached: the gateway holds it too.
				v, err = store.DecodeRawShared[T, PT](raw)
			} else {
				v = new(T)
				err = raw.Decode(PT(v))
			}
			if err != nil {
				return nil, 0, fmt.Errorf("list %s: %s: %w", kind, raw.ID, err)
			}
			out = append(out, v)
		}
		if !res.More || len(res.Items) == 0 {
			return out, rev, nil
		}
		after = res.Items[len(res.Items)-1].ID
	}
}

func (c *cache) putContainer(ct *api.Container) {
	c.containers[ct.ID] = ct
	m := c.byService[ct.Spec.Service]
	if m == nil {
		m = map[string]*api.Container{}
		c.byService[ct.Spec.Service] = m
	}
	m[ct.ID] = ct
}

func (c *cache) removeContainer(id string) *api.Container {
	old := c.containers[id]
	if old == nil {
		return nil
	}
	delete(c.containers, id)
	if m := c.byService[old.Spec.Service]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(c.byService, old.Spec.Service)
		}
	}
	return old
}

// putService caches s and indexes its name and dependencies.
func (c *cache) putService(s *api.Service) {
	c.services[s.ID] = s
	c.byName[qualName(s.Org, s.Name)] = s.ID
	for _, d := range s.Spec.DependsOn {
		m := c.dependants[qualName(s.Org, d.Service)]
		if m == nil {
			m = map[string]bool{}
			c.dependants[qualName(s.Org, d.Service)] = m
		}
		m[s.ID] = true
	}
}

// removeService drops a service and its index entries; it returns the
// cached service, or nil.
func (c *cache) removeService(id string) *api.Service {
	old := c.services[id]
	if old == nil {
		return nil
	}
	delete(c.services, id)
	if c.byName[qualName(old.Org, old.Name)] == id {
		delete(c.byName, qualName(old.Org, old.Name))
	}
	for _, d := range old.Spec.DependsOn {
		if m := c.dependants[qualName(old.Org, d.Service)]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(c.dependants, qualName(old.Org, d.Service))
			}
		}
	}
	return old
}

// touchOwner notes the name of ct's service when some service depends on
// it.
func (c *cache) touchOwner(t *touched, ct *api.Container) {
	if s := c.services[ct.Spec.Service]; s != nil && len(c.dependants[qualName(s.Org, s.Name)]) > 0 {
		t.name(qualName(s.Org, s.Name))
	}
}

// qualName is a service name qualified by its organization: service
// names are unique only within one, and links and dependencies name
// services of their own organization. In the default organization it is
// the name; in another, "<name>@<org>" (names have no "@", so the first
// one ends the name).
func qualName(org, name string) string {
	if org = orgName(org); org == "default" {
		return name
	}
	return name + "@" + org
}

// touched says what a batch of changes may have affected.
type touched struct {
	services map[string]bool // service IDs
	nodes    bool            // any node changed: every service may care
	// orgs whose networks changed: their services may now get addresses.
	orgs map[string]bool
	// freed: some address was given back (a service held by a full
	// network may now get one).
	freed bool
	// names of the services (old and new) that changed or whose
	// containers did: their dependants may care.
	names map[string]bool
}

func (t *touched) name(n string) {
	if n == "" {
		return
	}
	if t.names == nil {
		t.names = map[string]bool{}
	}
	t.names[n] = true
}

// apply folds one watch batch into the cache. A value that does not decode
// is dropped (and reported), as if the object did not exist.
func (c *cache) apply(changes []store.Change, t *touched, bad func(store.Change, error)) {
	for _, ch := range changes {
		c.rev = max(c.rev, ch.Revision)
		switch ch.Kind {
		case store.KindServices:
			t.services[ch.ID] = true
			if old := c.removeService(ch.ID); old != nil {
				t.name(qualName(old.Org, old.Name))
			}
			if !ch.Deleted {
				s := new(api.Service)
				if err := ch.Decode(s); err != nil {
					bad(ch, err)
					continue
				}
				c.putService(s)
				t.name(qualName(s.Org, s.Name))
			}
		case store.KindContainers:
			if old := c.removeContainer(ch.ID); old != nil {
				t.services[old.Spec.Service] = true
				c.touchOwner(t, old)
			}
			if !ch.Deleted {
				// Read only, as everything cached: the gateway holds it too.
				ct, err := store.DecodeShared[api.Container](ch)
				if err != nil {
					bad(ch, err)
					continue
				}
				c.putContainer(ct)
				t.services[ct.Spec.Service] = true
				c.touchOwner(t, ct)
			}
		case store.KindNodes:
			t.nodes = true
			delete(c.nodes, ch.ID)
			if !ch.Deleted {
				n := new(api.Node)
				if err := ch.Decode(n); err != nil {
					bad(ch, err)
					continue
				}
				c.nodes[ch.ID] = n
			}
		case store.KindNetworks:
			if old := c.networks[ch.ID]; old != nil {
				t.org(old.Org)
			}
			delete(c.networks, ch.ID)
			if !ch.Deleted {
				n := new(api.Network)
				if err := ch.Decode(n); err != nil {
					bad(ch, err)
					continue
				}
				c.networks[ch.ID] = n
				t.org(n.Org)
			}
		case store.KindAddresses:
			if old := c.removeAddr(ch.ID); old != nil {
				t.services[old.Service] = true
				t.freed = true
			}
			if !ch.Deleted {
				a := new(api.AddressRecord)
				if err := ch.Decode(a); err != nil {
					bad(ch, err)
					continue
				}
				c.putAddr(a)
				t.services[a.Service] = true
			}
		case store.KindStacks:
			delete(c.stacks, ch.ID)
			if !ch.Deleted {
				m := new(api.Meta)
				if err := ch.Decode(m); err != nil {
					bad(ch, err)
					continue
				}
				c.stacks[ch.ID] = m.Name
			}
		}
	}
}

func (t *touched) org(o string) {
	if t.orgs == nil {
		t.orgs = map[string]bool{}
	}
	t.orgs[orgName(o)] = true
}

func (c *cache) putAddr(a *api.AddressRecord) {
	c.removeAddr(a.ID)
	c.addrs[a.ID] = a
	m := c.addrsBySvc[a.Service]
	if m == nil {
		m = map[string]*api.AddressRecord{}
		c.addrsBySvc[a.Service] = m
	}
	m[a.ID] = a
	k := slotNet{a.Service, a.Slot, a.Network}
	if cur := c.slotAddr[k]; cur == nil || a.ID < cur.ID {
		c.slotAddr[k] = a
	}
}

// removeAddr drops an address record and returns it, or nil.
func (c *cache) removeAddr(id string) *api.AddressRecord {
	old := c.addrs[id]
	if old == nil {
		return nil
	}
	delete(c.addrs, id)
	m := c.addrsBySvc[old.Service]
	delete(m, id)
	if len(m) == 0 {
		delete(c.addrsBySvc, old.Service)
	}
	k := slotNet{old.Service, old.Slot, old.Network}
	if c.slotAddr[k] == old {
		delete(c.slotAddr, k)
		for _, a := range m { // another record of the slot, if any (lowest ID)
			if a.Slot == old.Slot && a.Network == old.Network && (c.slotAddr[k] == nil || a.ID < c.slotAddr[k].ID) {
				c.slotAddr[k] = a
			}
		}
	}
	return old
}

// serviceIDs is every service ID the controller must look at: the services
// and the owners of orphaned containers and address records (containers
// with no Spec.Service at all are left alone).
func (c *cache) serviceIDs() []string {
	ids := make([]string, 0, len(c.services)+1)
	for id := range c.services {
		ids = append(ids, id)
	}
	for id := range c.byService {
		if id != "" && c.services[id] == nil {
			ids = append(ids, id)
		}
	}
	for id := range c.addrsBySvc {
		if id != "" && c.services[id] == nil && c.byService[id] == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
