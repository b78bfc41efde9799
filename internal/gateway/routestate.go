package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/debounce"
	"github.com/wharfhq/wharf/internal/routing"
	"github.com/wharfhq/wharf/internal/store"
)

// routeState keeps, per organization, what its router nodes serve (an
// api.RouteTable, built by package routing, the one owner of what a
// route means) and pushes it to them, PUT /agent/v1/routes, latest wins.
//
// It mirrors the routed services (its own watch of services and secrets)
// and every node (fed by the assigner); the containers are the
// assigner's, read when a table is built. A change to any of them marks
// the organization dirty; a flush builds each dirty organization's table
// once and sends it to its connected router nodes. Organizations without
// a router node build nothing.
type routeState struct {
	g *Gateway

	mu       sync.Mutex
	services map[string]*api.Service // routed services by ID
	nodes    map[string]*api.Node
	dirty    map[string]bool       // orgs
	tables   map[string]*netDocRef // org -> its last table, encoded
	routers  map[string]bool       // nodes last sent a table with Router true
	rev      int64                 // the newest store revision seen
	flushMu  sync.Mutex            // one flush at a time
}

func newRouteState(g *Gateway) *routeState {
	return &routeState{g: g, services: map[string]*api.Service{}, nodes: map[string]*api.Node{},
		dirty: map[string]bool{}, tables: map[string]*netDocRef{}, routers: map[string]bool{}}
}

// routed reports whether s has a route (its own, or by Docker Cloud's
// variables, or an ingress port).
func routed(s *api.Service) bool {
	res, err := routing.Resolve(s.Spec)
	return err == nil && len(res.Routes) > 0
}

// service folds in a service's latest form (nil: deleted).
func (r *routeState) service(id string, s *api.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.services[id]
	if s == nil || s.Terminating || !routed(s) {
		if had {
			delete(r.services, id)
			r.dirty[orgOf(old.Org)] = true
		}
		return
	}
	r.services[id] = s
	r.dirty[orgOf(s.Org)] = true
}

// node folds in a node's latest form (nil: deleted).
func (r *routeState) node(id string, n *api.Node) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.nodes[id]
	if n == nil {
		if !had {
			return false
		}
		delete(r.nodes, id)
		r.dirty[orgOf(old.Org)] = true
		return true
	}
	if had && old.State == n.State && old.Address == n.Address && routing.IsRouter(old) == routing.IsRouter(n) && old.Name == n.Name {
		r.nodes[id] = n
		return false
	}
	r.nodes[id] = n
	r.dirty[orgOf(n.Org)] = true
	return true
}

// container marks c's organization dirty when c belongs to a routed
// service; old is its previous form (nil: none).
func (r *routeState) container(c, old *api.Container) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range []*api.Container{c, old} {
		if x == nil {
			continue
		}
		if _, ok := r.services[x.Spec.Service]; ok {
			r.dirty[orgOf(x.Org)] = true
			return true
		}
	}
	return false
}

// secret marks org dirty when one of its routed services names a
// certificate (a secret changed: maybe that one).
func (r *routeState) secret(org string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.services {
		if orgOf(s.Org) == org && s.Spec.RouteOptions.Certificate != "" {
			r.dirty[org] = true
			return true
		}
	}
	return false
}

// run lists and watches services and secrets until ctx ends.
func (r *routeState) run(ctx context.Context) {
	r.g.relistLoop(ctx, "service watch of the route tables", r.listAndWatch)
}

func (r *routeState) listAndWatch(ctx context.Context) error {
	res, err := r.g.store.List(ctx, store.KindServices, store.ListOptions{})
	if err != nil {
		return err
	}
	r.mu.Lock()
	for _, s := range r.services {
		r.dirty[orgOf(s.Org)] = true
	}
	clear(r.services)
	r.mu.Unlock()
	for _, raw := range res.Items {
		s := new(api.Service)
		if err := raw.Decode(s); err == nil {
			r.service(s.ID, s)
		}
	}
	r.flush(res.Revision)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// A burst of changes to services is flushed once, as the assigner's
	// (debounce.Burst).
	burst := debounce.Burst{Quiet: assignQuiet, Max: assignMaxWait}
	rev := res.Revision
	ch := r.g.store.Watch(ctx, res.Revision, store.KindServices, store.KindSecrets)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			burst.Done()
			r.flush(rev)
		case b, ok := <-ch:
			if !ok {
				return errors.New("store watch closed")
			}
			if b.Err != nil {
				return b.Err
			}
			rev = b.Revision
			for _, c := range b.Changes {
				switch c.Kind {
				case store.KindServices:
					if c.Deleted {
						r.service(c.ID, nil)
						continue
					}
					s := new(api.Service)
					if err := c.Decode(s); err == nil {
						r.service(c.ID, s)
					}
				case store.KindSecrets:
					var m struct{ api.Meta }
					if err := c.Decode(&m); err == nil {
						r.secret(orgOf(m.Org))
					} else {
						r.secretAny()
					}
				}
			}
			timer.Reset(burst.Change(time.Now()))
		}
	}
}

// secretAny marks every organization with a certificate dirty (a secret
// was deleted: its organization is not in the change).
func (r *routeState) secretAny() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.services {
		if s.Spec.RouteOptions.Certificate != "" {
			r.dirty[orgOf(s.Org)] = true
		}
	}
}

// flush builds the table of every dirty organization that has a router
// node and sends it to them; a node that stopped being a router gets a
// table that says so, once.
func (r *routeState) flush(rev int64) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	r.rev = max(r.rev, rev)
	rev = r.rev
	orgs := slices.Sorted(maps.Keys(r.dirty))
	clear(r.dirty)
	routerOrgs := map[string]bool{}
	for _, n := range r.nodes {
		if routing.IsRouter(n) {
			routerOrgs[orgOf(n.Org)] = true
		}
	}
	var retired []string
	for id := range r.routers {
		if n, ok := r.nodes[id]; !ok || !routing.IsRouter(n) {
			retired = append(retired, id)
			delete(r.routers, id)
		}
	}
	r.mu.Unlock()

	for _, org := range orgs {
		if !routerOrgs[org] {
			r.mu.Lock()
			delete(r.tables, org)
			r.mu.Unlock()
			continue
		}
		if ref := r.build(org, rev); ref != nil {
			r.sendOrg(org, ref)
		}
	}
	if len(retired) > 0 {
		body, _ := json.Marshal(api.RouteTable{Revision: rev})
		for _, id := range retired {
			if s := r.g.session(id); s != nil {
				s.offerRoutes(rev, body)
			}
		}
	}
}

// build makes and encodes org's table at rev and keeps it.
func (r *routeState) build(org string, rev int64) *netDocRef {
	r.mu.Lock()
	in := routing.Inputs{ACME: r.g.cfg.ACME}
	ids := map[string]bool{}
	certs := map[string]bool{}
	for id, s := range r.services {
		if orgOf(s.Org) == org {
			in.Services = append(in.Services, s)
			ids[id] = true
			if c := s.Spec.RouteOptions.Certificate; c != "" {
				certs[c] = true
			}
		}
	}
	for _, n := range r.nodes {
		if orgOf(n.Org) == org {
			in.Nodes = append(in.Nodes, n)
		}
	}
	r.mu.Unlock()
	in.Containers = r.g.assign.containersOf(ids)
	if len(certs) > 0 {
		in.Secrets = map[string]string{}
		ctx, cancel := context.WithTimeout(context.Background(), secretReadTimeout)
		for name := range certs {
			o := r.g.openSecret(ctx, org, name)
			if o.err != nil {
				r.g.log.Warn("a route's certificate cannot be read; its https routes are not served", "org", org, "secret", name, "err", o.err)
				continue
			}
			in.Secrets[name] = string(o.data)
		}
		cancel()
	}
	body, err := json.Marshal(routing.Table(in, rev))
	if err != nil {
		r.g.log.Error("encode route table", "org", org, "err", err)
		return nil
	}
	ref := &netDocRef{rev: rev, body: body}
	r.mu.Lock()
	r.tables[org] = ref
	r.mu.Unlock()
	return ref
}

// sendOrg offers ref to every connected router node of org.
func (r *routeState) sendOrg(org string, ref *netDocRef) {
	r.mu.Lock()
	var ids []string
	for id, n := range r.nodes {
		if orgOf(n.Org) == org && routing.IsRouter(n) {
			ids = append(ids, id)
			r.routers[id] = true
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		if s := r.g.session(id); s != nil {
			s.offerRoutes(ref.rev, ref.body)
		}
	}
}

// pushNode offers a node that just said hello its table, if it is a
// router.
func (r *routeState) pushNode(id string) {
	r.mu.Lock()
	n, ok := r.nodes[id]
	if !ok || !routing.IsRouter(n) {
		r.mu.Unlock()
		return
	}
	org, rev := orgOf(n.Org), r.rev
	ref := r.tables[org]
	r.routers[id] = true
	r.mu.Unlock()
	if ref == nil {
		if ref = r.build(org, rev); ref == nil {
			return
		}
	}
	if s := r.g.session(id); s != nil {
		s.offerRoutes(ref.rev, ref.body)
	}
}
