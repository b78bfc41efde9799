package domain

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// CreateUser makes a user with a password (the server's administrators
// only). The user belongs to no organization until an owner adds them to
// a team.
func (d *Domain) CreateUser(ctx context.Context, a Actor, req api.CreateUserRequest) (api.User, error) {
	if err := a.need(ServerAdmin); err != nil {
		return api.User{}, err
	}
	return d.createUser(ctx, req)
}

func (d *Domain) createUser(ctx context.Context, req api.CreateUserRequest) (api.User, error) {
	if !userNameRE.MatchString(req.Name) {
		return api.User{}, errdefs.Invalid("name", "user name %q must match %s", req.Name, userNameRE)
	}
	if err := checkPassword("password", req.Password); err != nil {
		return api.User{}, err
	}
	h, err := hashPassword(req.Password)
	if err != nil {
		return api.User{}, err
	}
	u := records.User{Meta: api.Meta{ID: req.Name, Name: req.Name}, PasswordHash: h}
	noteObject(ctx, u.ID)
	// No event, here nor below: users belong to no organization, and the
	// event streams are per organization (the audit trail records the call).
	if err := d.st.Create(ctx, store.KindUsers, &u); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.User{}, newErr(errdefs.ErrConflict, "user %q already exists", req.Name)
		}
		return api.User{}, err
	}
	return u.Wire(), nil
}

// ListUsers reads the users: every one for the server's administrators,
// else the members of the actor's organization.
func (d *Domain) ListUsers(ctx context.Context, a Actor) (api.List[api.User], error) {
	out := api.List[api.User]{Items: []api.User{}}
	if !a.member() {
		return out, newErr(errdefs.ErrForbidden, "only members of an organization see its users")
	}
	all, _, err := store.ListAll[records.User](ctx, d.st, store.KindUsers)
	if err != nil {
		return out, err
	}
	var keep map[string]bool
	if !a.Can(ServerAdmin) {
		keep = map[string]bool{}
		teams, err := d.orgTeams(ctx, a.Org)
		if err != nil {
			return out, err
		}
		for _, t := range teams {
			for _, m := range t.Members {
				keep[m] = true
			}
		}
	}
	for _, u := range all {
		if keep == nil || keep[u.ID] {
			out.Items = append(out.Items, u.Wire())
		}
	}
	return out, nil
}

// DeleteUser removes a user, takes them out of every team and deletes
// their tokens, in one transaction (the server's administrators only). It
// refuses the last owner of an organization.
func (d *Domain) DeleteUser(ctx context.Context, a Actor, id string) error {
	if err := a.need(ServerAdmin); err != nil {
		return err
	}
	var u records.User
	if err := d.st.Get(ctx, store.KindUsers, id, &u); err != nil {
		return explainWrite(err, "user", id)
	}
	noteObject(ctx, id)
	teams, _, err := store.ListAll[api.Team](ctx, d.st, store.KindTeams)
	if err != nil {
		return err
	}
	txn := d.st.Txn()
	txn.Delete(store.KindUsers, u.ID, u.Revision)
	for _, t := range teams {
		i := slices.Index(t.Members, id)
		if i < 0 {
			continue
		}
		t.Members = slices.Delete(t.Members, i, i+1)
		if t.Name == api.OwnersTeam && len(t.Members) == 0 {
			return newErr(errdefs.ErrConflict, "user %q is the last owner of organization %q: add another owner, or remove the organization, first", id, t.Org)
		}
		txn.Update(store.KindTeams, t)
		txn.Emit(teamEvent(t, "updated", "user "+id+" left team "+t.Name))
	}
	if err := d.deleteTokensWhere(ctx, txn, func(t *records.Token) bool { return t.User == id }); err != nil {
		return err
	}
	return explainWrite(txn.Commit(ctx), "user", id)
}

// SetPassword sets a user's password (the server's administrators only).
func (d *Domain) SetPassword(ctx context.Context, a Actor, id, password string) error {
	if err := a.need(ServerAdmin); err != nil {
		return err
	}
	return d.setPassword(ctx, id, password, nil)
}

// ChangePassword changes the actor's own password, given the old one. A
// token narrowed to a role may not: a password is a way to every access.
func (d *Domain) ChangePassword(ctx context.Context, a Actor, req api.PasswordRequest) error {
	if a.User == "" {
		return newErr(errdefs.ErrForbidden, "token %q belongs to no user, so it has no password", a.Name)
	}
	if r := a.effectiveRole(); r != "" && r != api.RoleAdmin {
		return newErr(errdefs.ErrForbidden, "token %q is a %s token: change the password with a token of no role (wharf login)", a.Name, r)
	}
	return d.setPassword(ctx, a.User, req.New, func(u *records.User) error {
		if !passwordMatches(req.Old, u.PasswordHash) {
			return newErr(errdefs.ErrForbidden, "the old password is wrong")
		}
		return nil
	})
}

func (d *Domain) setPassword(ctx context.Context, id, password string, check func(*records.User) error) error {
	if err := checkPassword("new", password); err != nil {
		return err
	}
	h, err := hashPassword(password)
	if err != nil {
		return err
	}
	noteObject(ctx, id)
	_, err = modify(ctx, d.st, store.KindUsers, "user", id, 0, func(u *records.User) ([]api.Event, error) {
		if check != nil {
			if err := check(u); err != nil {
				return nil, err
			}
		}
		u.PasswordHash = h
		return nil, nil
	})
	return err
}

// Me is who the actor is: its organization and access there, and for a
// user every organization they belong to.
func (d *Domain) Me(ctx context.Context, a Actor) (api.Me, error) {
	if !a.member() {
		return api.Me{}, newErr(errdefs.ErrUnauthorized, "not logged in")
	}
	eff := Access{}
	for _, ar := range append(slices.Clone(Areas), AreaServer) {
		for _, v := range Verbs {
			if n := verbs[v]; n.area == ar && a.Can(v) && n.level > eff[ar] {
				eff[ar] = n.level
			}
		}
	}
	me := api.Me{Name: a.Name, User: a.User, Token: a.Token, Role: a.Role, Org: OrgName(a.Org), Access: accessNames(eff), ServerAdmin: a.Can(ServerAdmin)}
	if a.User == "" {
		return me, nil
	}
	all, _, err := store.ListAll[api.Team](ctx, d.st, store.KindTeams)
	if err != nil {
		return me, err
	}
	byOrg := map[string]*api.Membership{}
	accs := map[string]Access{}
	for _, t := range all {
		if !slices.Contains(t.Members, a.User) {
			continue
		}
		o := OrgName(t.Org)
		if byOrg[o] == nil {
			byOrg[o] = &api.Membership{Org: o, Teams: []string{}}
			accs[o] = Access{}
		}
		byOrg[o].Teams = append(byOrg[o].Teams, t.Name)
		accs[o].Add(teamAccess(t))
	}
	for o, m := range byOrg {
		m.Access = accessNames(accs[o])
		me.Orgs = append(me.Orgs, *m)
	}
	sort.Slice(me.Orgs, func(i, j int) bool { return me.Orgs[i].Org < me.Orgs[j].Org })
	return me, nil
}
