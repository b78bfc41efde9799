package domain

// Organization scoping: every object belongs to an organization
// (Meta.Org, "" being DefaultOrg); an actor sees and touches only its
// own organization's objects. Another organization's object answers
// exactly the not-found error a missing one does, so existence is not
// leaked.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// orgOf is the organization the actor acts in, as objects store it.
func (a Actor) orgOf() string { return OrgName(a.Org) }

// owns reports whether an object with meta m is in the actor's
// organization.
func (a Actor) owns(m *api.Meta) bool { return OrgName(m.Org) == a.orgOf() }

// serviceNameKey is the name index key of the service named name in org.
func serviceNameKey(org, name string) string {
	return records.NameKey(store.KindServices, OrgName(org), name)
}

// stackNameKey is the name index key of the stack named name in org.
func stackNameKey(org, name string) string {
	return records.NameKey(store.KindStacks, OrgName(org), name)
}

// rawOrg is the organization of a stored object, read without decoding
// the rest of it. Only its top-level "org" key counts (a label named
// "org", nested deeper, cannot spoof it). Objects are written by Go's
// encoding/json with their Meta first (id, name, org), so orgFromPrefix
// finds the organization in the first bytes; anything it cannot read so
// (an object stored before organizations, with no "org") is decoded as a
// whole, and one with no "org" is in "default".
func rawOrg(raw store.RawObject) (string, error) {
	if org, ok := orgFromPrefix(raw.Value); ok {
		return OrgName(org), nil
	}
	var f struct {
		Org string `json:"org"`
	}
	if err := json.Unmarshal(raw.Value, &f); err != nil {
		return "", fmt.Errorf("stored %s: %w", raw.ID, err)
	}
	return OrgName(f.Org), nil
}

// orgFromPrefix reads compact JSON's leading top-level keys while their
// values are plain strings, up to "org"; ok is false when it meets
// anything else first (a value that is not a string, an escape,
// whitespace), and the caller decodes the object instead.
func orgFromPrefix(b []byte) (org string, ok bool) {
	if len(b) < 2 || b[0] != '{' {
		return "", false
	}
	i := 1
	str := func() (string, bool) { // a string without escapes at b[i]
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' || b[j] < 0x20 {
				return "", false
			}
			j++
		}
		if j >= len(b) {
			return "", false
		}
		v := string(b[i+1 : j])
		i = j + 1
		return v, true
	}
	for {
		key, ok := str()
		if !ok || i >= len(b) || b[i] != ':' {
			return "", false
		}
		i++
		val, ok := str()
		if !ok || i >= len(b) {
			return "", false
		}
		if key == "org" {
			return val, true
		}
		if b[i] != ',' {
			return "", false
		}
		i++
	}
}

// rawPage reads a page of kind as stored, keeping only the actor's
// organization's objects (read from each object's "org" field alone).
// Filtered out objects still move the cursor on, so Next is the last
// object of the page and the next page starts right after it.
func (d *Domain) rawPage(ctx context.Context, a Actor, kind string, p Page) (RawPage, error) {
	if err := p.check(); err != nil {
		return RawPage{}, err
	}
	out := RawPage{Items: []store.RawObject{}}
	org := a.orgOf()
	opts := store.ListOptions{After: p.After, Limit: p.Limit + 1, Reverse: p.Reverse}
	for {
		res, err := d.st.List(ctx, kind, opts)
		if err != nil {
			return RawPage{}, err
		}
		if out.Revision == 0 {
			out.Revision = res.Revision
		}
		for _, raw := range res.Items {
			opts.After = raw.ID
			o, err := rawOrg(raw)
			if err != nil {
				return RawPage{}, err
			}
			if o != org {
				continue
			}
			if len(out.Items) == p.Limit {
				out.Next = out.Items[len(out.Items)-1].ID
				return out, nil
			}
			out.Items = append(out.Items, raw)
		}
		if !res.More {
			return out, nil
		}
		opts.Revision = res.Revision
	}
}

// everyNode marks, in containersOf, a service that runs one container
// per node of its organization.
const everyNode = -1

// containersOf is how many containers a spec asks for, or everyNode.
func containersOf(spec *api.ServiceSpec) int {
	if spec.Strategy == api.StrategyEveryNode {
		return everyNode
	}
	return spec.Replicas
}

// quotas reads the quotas of org; no org object is no quotas.
func (d *Domain) quotas(ctx context.Context, org string) (api.Quotas, error) {
	var o api.Org
	err := d.st.Get(ctx, store.KindOrgs, org, &o)
	if errors.Is(err, store.ErrNotFound) {
		return api.Quotas{}, nil
	}
	return o.Quotas, err
}

// quotaGuard makes a change that counts against the actor's
// organization's containers quota one step with its check: it holds the
// organization's lock until the returned unlock is called, after the
// change is written, so two changes at once cannot both pass the check
// and together overshoot the quota. An organization without a containers
// quota takes no lock. (The lock is in this server's memory: one server
// is active at a time, see docs/architecture.md.)
// It returns the organization's quotas as read under the lock, for
// checkContainerQuota.
func (d *Domain) quotaGuard(ctx context.Context, a Actor) (unlock func(), q api.Quotas, err error) {
	q, err = d.quotas(ctx, a.orgOf())
	if err != nil || q.Containers <= 0 {
		return func() {}, q, err
	}
	m, _ := d.orgLocks.LoadOrStore(a.orgOf(), &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	// Read again under the lock: the quota may have changed meanwhile.
	if q, err = d.quotas(ctx, a.orgOf()); err != nil {
		mu.Unlock()
		return func() {}, q, err
	}
	return mu.Unlock, q, nil
}

// checkContainerQuota refuses, as forbidden, a change that makes the
// actor's organization's services ask for more containers than its
// Containers quota: the services' replicas summed (an EVERY_NODE service
// counts one per node of the organization; services being removed count
// nothing), with the services in set at the count given and add more
// containers asked for by new services (containersOf counts). A change
// that does not raise the sum is let through even over the quota, so an
// organization over it can always scale down.
func (d *Domain) checkContainerQuota(ctx context.Context, a Actor, q api.Quotas, set map[string]int, add ...int) error {
	if q.Containers <= 0 {
		return nil
	}
	org := a.orgOf()
	services, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return err
	}
	nodes := -1
	count := func(n int) (int, error) {
		if n != everyNode {
			return n, nil
		}
		if nodes < 0 {
			all, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
			if err != nil {
				return 0, err
			}
			nodes = 0
			for _, nd := range all {
				if a.owns(&nd.Meta) {
					nodes++
				}
			}
		}
		return nodes, nil
	}
	before, after := 0, 0
	for _, svc := range services {
		if !a.owns(&svc.Meta) || svc.Terminating {
			continue
		}
		n, err := count(containersOf(&svc.Spec))
		if err != nil {
			return err
		}
		before += n
		if m, ok := set[svc.ID]; ok {
			if n, err = count(m); err != nil {
				return err
			}
		}
		after += n
	}
	for _, m := range add {
		n, err := count(m)
		if err != nil {
			return err
		}
		after += n
	}
	if after > q.Containers && after > before {
		return newErr(errdefs.ErrForbidden, "organization %q has a quota of %d containers: its services ask for %d now and would ask for %d; scale other services down or ask an administrator for a larger quota",
			org, q.Containers, before, after)
	}
	return nil
}

// replicas is the containers each service the plan updates or removes
// asks for after it (containersOf counts; 0 for those it removes).
func (p *stackPlan) replicas() map[string]int {
	out := map[string]int{}
	for _, svc := range p.update {
		out[svc.ID] = containersOf(&svc.Spec)
	}
	for _, svc := range p.remove {
		out[svc.ID] = 0
	}
	return out
}

// newContainers is the containers each service the plan creates asks for.
func (p *stackPlan) newContainers() []int {
	out := make([]int, 0, len(p.create))
	for _, svc := range p.create {
		out = append(out, containersOf(&svc.Spec))
	}
	return out
}
