package domain

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// newOrg queues an organization and its owners team with owner in it,
// and their events when emit is set.
func newOrg(txn *store.Txn, name, owner string, emit bool) (*api.Org, *api.Team) {
	o := &api.Org{Meta: api.Meta{ID: name, Name: name, Org: name}}
	t := &api.Team{Meta: api.Meta{ID: ownersID(name), Name: api.OwnersTeam, Org: name}, Access: accessNames(OwnerAccess()), Members: []string{}}
	if owner != "" {
		t.Members = []string{owner}
	}
	txn.Create(store.KindOrgs, o)
	txn.Create(store.KindTeams, t)
	if emit {
		txn.Emit(orgEvent(o, "created", "organization "+name+" created"), teamEvent(t, "created", "team owners created"))
	}
	return o, t
}

// CreateOrg makes an organization and its owners team with req.Owner in
// it (the server's administrators only).
func (d *Domain) CreateOrg(ctx context.Context, a Actor, req api.CreateOrgRequest) (api.Org, error) {
	if err := a.need(ServerAdmin); err != nil {
		return api.Org{}, err
	}
	if !orgNameRE.MatchString(req.Name) {
		return api.Org{}, errdefs.Invalid("name", "organization name %q must match %s", req.Name, orgNameRE)
	}
	if req.Owner == "" {
		return api.Org{}, errdefs.Invalid("owner", "name the user who owns the organization")
	}
	if err := d.st.Get(ctx, store.KindUsers, req.Owner, &records.User{}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.Org{}, errdefs.Invalid("owner", "no user %q: create it first (wharf user create)", req.Owner)
		}
		return api.Org{}, err
	}
	noteObject(ctx, req.Name)
	txn := d.st.Txn()
	o, _ := newOrg(txn, req.Name, req.Owner, true)
	if err := txn.Commit(ctx); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.Org{}, newErr(errdefs.ErrConflict, "organization %q already exists", req.Name)
		}
		return api.Org{}, err
	}
	return *o, nil
}

// ListOrgs reads the organizations: every one for the server's
// administrators, else the actor's own.
func (d *Domain) ListOrgs(ctx context.Context, a Actor) (api.List[api.Org], error) {
	out := api.List[api.Org]{Items: []api.Org{}}
	if !a.member() {
		return out, newErr(errdefs.ErrForbidden, "only members of an organization see it")
	}
	all, _, err := store.ListAll[api.Org](ctx, d.st, store.KindOrgs)
	if err != nil {
		return out, err
	}
	var mine []string
	if !a.Can(ServerAdmin) {
		if a.User == "" {
			mine = []string{OrgName(a.Org)}
		} else if mine, err = d.userOrgs(ctx, a.User); err != nil {
			return out, err
		}
	}
	for _, o := range all {
		if a.Can(ServerAdmin) || slices.Contains(mine, o.ID) {
			out.Items = append(out.Items, *o)
		}
	}
	return out, nil
}

// GetOrg reads an organization the actor belongs to (any, for the
// server's administrators); another is not found.
func (d *Domain) GetOrg(ctx context.Context, a Actor, name string) (api.Org, error) {
	l, err := d.ListOrgs(ctx, a)
	if err != nil {
		return api.Org{}, err
	}
	for _, o := range l.Items {
		if o.ID == name {
			return o, nil
		}
	}
	return api.Org{}, notFoundErr("organization", name)
}

// UpdateOrg sets an organization's quotas (the server's administrators
// only).
func (d *Domain) UpdateOrg(ctx context.Context, a Actor, name string, p api.OrgPatch) (api.Org, error) {
	if err := a.need(ServerAdmin); err != nil {
		return api.Org{}, err
	}
	if p.Quotas == nil {
		return api.Org{}, errdefs.Invalid("quotas", "send the quotas to set")
	}
	q := *p.Quotas
	switch {
	case q.Containers < 0:
		return api.Org{}, errdefs.Invalid("quotas.containers", "%d: want 0 (no limit) or more", q.Containers)
	case q.Nodes < 0:
		return api.Org{}, errdefs.Invalid("quotas.nodes", "%d: want 0 (no limit) or more", q.Nodes)
	case q.TokenRate < 0 || math.IsNaN(q.TokenRate) || math.IsInf(q.TokenRate, 0):
		return api.Org{}, errdefs.Invalid("quotas.token_rate", "%g: want 0 (no limit) or a number of calls per second", q.TokenRate)
	}
	noteObject(ctx, name)
	o, err := modify(ctx, d.st, store.KindOrgs, "organization", name, 0, func(o *api.Org) ([]api.Event, error) {
		if o.Quotas == q {
			return nil, store.ErrNoChange
		}
		o.Quotas = q
		return []api.Event{orgEvent(o, "updated", "quotas of organization "+name+" changed")}, nil
	})
	if err != nil {
		return api.Org{}, err
	}
	// This server applies the new rate at once; the others within rateTTL.
	d.rates.mu.Lock()
	delete(d.rates.m, name)
	d.rates.mu.Unlock()
	return *o, nil
}

// orgHolds is whether anything of kind belongs to org.
func orgHolds[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind, org string) (bool, error) {
	all, _, err := store.ListAll[T, PT](ctx, st, kind)
	if err != nil {
		return false, err
	}
	for _, o := range all {
		if OrgName(PT(o).GetMeta().Org) == org {
			return true, nil
		}
	}
	return false, nil
}

// DeleteOrg removes an empty organization (no services, stacks,
// containers, nodes, join tokens), its teams and tokens (the server's
// administrators only); never "default".
func (d *Domain) DeleteOrg(ctx context.Context, a Actor, name string) error {
	if err := a.need(ServerAdmin); err != nil {
		return err
	}
	if name == DefaultOrg {
		return newErr(errdefs.ErrConflict, "organization %q cannot be removed", DefaultOrg)
	}
	o, err := d.getOrg(ctx, name)
	if err != nil {
		return explainWrite(err, "organization", name)
	}
	noteObject(ctx, name)
	for _, k := range []string{store.KindServices, store.KindStacks, store.KindContainers, store.KindNodes, store.KindJoinTokens} {
		held, err := orgHolds[api.Meta](ctx, d.st, k, name)
		if err != nil {
			return err
		}
		if held {
			return newErr(errdefs.ErrConflict, "organization %q still has %s: remove them first", name, k)
		}
	}
	teams, err := d.orgTeams(ctx, name)
	if err != nil {
		return err
	}
	txn := d.st.Txn()
	txn.Delete(store.KindOrgs, o.ID, o.Revision)
	for _, t := range teams {
		txn.Delete(store.KindTeams, t.ID, t.Revision)
	}
	if err := d.deleteTokensWhere(ctx, txn, func(t *records.Token) bool { return t.Org == name }); err != nil {
		return err
	}
	txn.Emit(orgEvent(o, "deleted", "organization "+name+" deleted"))
	return explainWrite(txn.Commit(ctx), "organization", name)
}

// ensureDefaultOrg makes organization "default" and its owners team when
// missing (a new cluster, or one made before organizations existed).
func ensureDefaultOrg(ctx context.Context, st *store.Store) error {
	var o api.Org
	err := st.Get(ctx, store.KindOrgs, DefaultOrg, &o)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	txn := st.Txn()
	// No event: it is the server's own bookkeeping, there before anyone
	// looks (and an upgraded cluster's event stream stays as it was).
	newOrg(txn, DefaultOrg, "", false)
	if err := txn.Commit(ctx); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}
