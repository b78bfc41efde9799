package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// getTeam finds a team of org by ID or name; another organization's team
// is not found, like a missing one.
func (d *Domain) getTeam(ctx context.Context, org, ref string) (*api.Team, error) {
	id := ref
	if !strings.HasPrefix(ref, OrgName(org)+".") {
		id = teamID(org, ref)
	}
	t := new(api.Team)
	if err := d.st.Get(ctx, store.KindTeams, id, t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFoundErr("team", ref)
		}
		return nil, err
	}
	return t, nil
}

// checkMembers refuses members that are not users, and sorts and
// dedups them.
func (d *Domain) checkMembers(ctx context.Context, members []string) ([]string, error) {
	out := slices.Clone(members)
	sort.Strings(out)
	out = slices.Compact(out)
	for _, m := range out {
		if err := d.st.Get(ctx, store.KindUsers, m, &api.User{}); err != nil {
			if errors.Is(err, store.ErrNotFound) || !userNameRE.MatchString(m) {
				return nil, errdefs.Invalid("members", "no user %q: create it first (wharf user create)", m)
			}
			return nil, err
		}
	}
	return out, nil
}

// CreateTeam makes a team in the actor's organization (OrgManage).
func (d *Domain) CreateTeam(ctx context.Context, a Actor, req api.TeamRequest) (api.Team, error) {
	if err := a.need(OrgManage); err != nil {
		return api.Team{}, err
	}
	if !orgNameRE.MatchString(req.Name) {
		return api.Team{}, errdefs.Invalid("name", "team name %q must match %s", req.Name, orgNameRE)
	}
	acc, err := accessOf(req.Access)
	if err != nil {
		return api.Team{}, err
	}
	t := api.Team{Meta: api.Meta{ID: teamID(a.Org, req.Name), Name: req.Name, Org: OrgName(a.Org)}, Access: accessNames(acc), Members: []string{}}
	if req.Members != nil {
		if t.Members, err = d.checkMembers(ctx, *req.Members); err != nil {
			return api.Team{}, err
		}
	}
	noteObject(ctx, t.ID)
	if err := d.st.Create(ctx, store.KindTeams, &t, teamEvent(&t, "created", "team "+t.Name+" created")); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.Team{}, newErr(errdefs.ErrConflict, "team %q already exists in organization %q", req.Name, t.Org)
		}
		return api.Team{}, err
	}
	return t, nil
}

// ListTeams reads the teams of the actor's organization (any member).
func (d *Domain) ListTeams(ctx context.Context, a Actor) (api.List[api.Team], error) {
	out := api.List[api.Team]{Items: []api.Team{}}
	if !a.member() {
		return out, newErr(errdefs.ErrForbidden, "only members of an organization see its teams")
	}
	teams, err := d.orgTeams(ctx, a.Org)
	for _, t := range teams {
		out.Items = append(out.Items, *t)
	}
	return out, err
}

// GetTeam reads a team of the actor's organization by ID or name.
func (d *Domain) GetTeam(ctx context.Context, a Actor, ref string) (api.Team, error) {
	if !a.member() {
		return api.Team{}, notFoundErr("team", ref)
	}
	t, err := d.getTeam(ctx, a.Org, ref)
	if err != nil {
		return api.Team{}, err
	}
	return *t, nil
}

// UpdateTeam changes a team's access and members (OrgManage). The owners
// team keeps every access and at least one member.
func (d *Domain) UpdateTeam(ctx context.Context, a Actor, ref string, req api.TeamRequest) (api.Team, error) {
	if err := a.need(OrgManage); err != nil {
		return api.Team{}, err
	}
	if req.Name != "" {
		return api.Team{}, errdefs.Invalid("name", "a team cannot be renamed: make a new one")
	}
	cur, err := d.getTeam(ctx, a.Org, ref)
	if err != nil {
		return api.Team{}, err
	}
	var acc Access
	if req.Access != nil {
		if cur.Name == api.OwnersTeam {
			return api.Team{}, errdefs.Invalid("access", "the owners team always has every access")
		}
		if acc, err = accessOf(req.Access); err != nil {
			return api.Team{}, err
		}
	}
	var members []string
	if req.Members != nil {
		if members, err = d.checkMembers(ctx, *req.Members); err != nil {
			return api.Team{}, err
		}
	}
	return d.changeTeam(ctx, cur.ID, func(t *api.Team) error {
		if acc != nil {
			t.Access = accessNames(acc)
		}
		if req.Members != nil {
			t.Members = members
		}
		return nil
	})
}

// changeTeam applies fn to a team and writes it back, refusing an owners
// team left empty.
func (d *Domain) changeTeam(ctx context.Context, id string, fn func(*api.Team) error) (api.Team, error) {
	noteObject(ctx, id)
	t, err := modify(ctx, d.st, store.KindTeams, "team", id, 0, func(t *api.Team) ([]api.Event, error) {
		if err := fn(t); err != nil {
			return nil, err
		}
		if t.Name == api.OwnersTeam && len(t.Members) == 0 {
			return nil, newErr(errdefs.ErrConflict, "the owners team of organization %q cannot be left without members: add another owner first", t.Org)
		}
		return []api.Event{teamEvent(t, "updated", "team "+t.Name+" updated")}, nil
	})
	if err != nil {
		return api.Team{}, err
	}
	return *t, nil
}

// AddMember puts a user in a team of the actor's organization (OrgManage).
func (d *Domain) AddMember(ctx context.Context, a Actor, ref, user string) (api.Team, error) {
	if err := a.need(OrgManage); err != nil {
		return api.Team{}, err
	}
	cur, err := d.getTeam(ctx, a.Org, ref)
	if err != nil {
		return api.Team{}, err
	}
	if _, err := d.checkMembers(ctx, []string{user}); err != nil {
		return api.Team{}, errdefs.Invalid("user", "no user %q: create it first (wharf user create)", user)
	}
	return d.changeTeam(ctx, cur.ID, func(t *api.Team) error {
		if slices.Contains(t.Members, user) {
			return store.ErrNoChange
		}
		t.Members = append(t.Members, user)
		sort.Strings(t.Members)
		return nil
	})
}

// RemoveMember takes a user out of a team of the actor's organization
// (OrgManage); the last owner stays.
func (d *Domain) RemoveMember(ctx context.Context, a Actor, ref, user string) (api.Team, error) {
	if err := a.need(OrgManage); err != nil {
		return api.Team{}, err
	}
	cur, err := d.getTeam(ctx, a.Org, ref)
	if err != nil {
		return api.Team{}, err
	}
	if !slices.Contains(cur.Members, user) {
		return api.Team{}, newErr(errdefs.ErrNotFound, "user %q is not a member of team %q", user, cur.Name)
	}
	return d.changeTeam(ctx, cur.ID, func(t *api.Team) error {
		i := slices.Index(t.Members, user)
		if i < 0 {
			return store.ErrNoChange
		}
		t.Members = slices.Delete(t.Members, i, i+1)
		return nil
	})
}

// DeleteTeam removes a team of the actor's organization and its robot
// tokens (OrgManage); never the owners team.
func (d *Domain) DeleteTeam(ctx context.Context, a Actor, ref string) error {
	if err := a.need(OrgManage); err != nil {
		return err
	}
	t, err := d.getTeam(ctx, a.Org, ref)
	if err != nil {
		return err
	}
	if t.Name == api.OwnersTeam {
		return newErr(errdefs.ErrConflict, "the owners team of organization %q cannot be removed", t.Org)
	}
	noteObject(ctx, t.ID)
	txn := d.st.Txn()
	txn.Delete(store.KindTeams, t.ID, t.Revision)
	if err := d.deleteTokensWhere(ctx, txn, func(tok *records.Token) bool { return tok.Team == t.ID }); err != nil {
		return err
	}
	txn.Emit(teamEvent(t, "deleted", fmt.Sprintf("team %s deleted", t.Name)))
	return explainWrite(txn.Commit(ctx), "team", ref)
}
