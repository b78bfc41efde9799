package domain

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

var (
	// orgNameRE is an organization's name (its ID) and a team's name.
	orgNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// userNameRE is a user's name (its ID).
	userNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// teamID is the ID of team name of org.
func teamID(org, name string) string { return OrgName(org) + "." + name }

// ownersID is the ID of org's owners team.
func ownersID(org string) string { return teamID(org, api.OwnersTeam) }

// accessOf reads a team's access from its level names; unknown areas or
// levels are an invalid field error.
func accessOf(names map[string]string) (Access, error) {
	acc := Access{}
	for area, lvl := range names {
		if !slices.Contains(Areas, Area(area)) {
			var as []string
			for _, a := range Areas {
				as = append(as, string(a))
			}
			return nil, errdefs.Invalid("access", "unknown area %q: want %s", area, strings.Join(as, ", "))
		}
		l, err := ParseLevel(lvl)
		if err != nil {
			return nil, errdefs.Invalid("access."+area, "%v", err)
		}
		if l > NoAccess {
			acc[Area(area)] = l
		}
	}
	return acc, nil
}

// accessNames is acc as level names, every area named.
func accessNames(acc Access) map[string]string {
	out := map[string]string{}
	for _, ar := range Areas {
		out[string(ar)] = acc[ar].String()
	}
	if acc[AreaServer] > NoAccess {
		out[string(AreaServer)] = acc[AreaServer].String()
	}
	return out
}

// teamAccess is a stored team's access (unknown names grant nothing).
func teamAccess(t *api.Team) Access {
	if t.ID == ownersID(t.Org) {
		return OwnerAccess()
	}
	acc := Access{}
	for area, lvl := range t.Access {
		if l, err := ParseLevel(lvl); err == nil && slices.Contains(Areas, Area(area)) {
			acc[Area(area)] = l
		}
	}
	return acc
}

// orgTeams reads every team of org (one range read).
func (d *Domain) orgTeams(ctx context.Context, org string) ([]*api.Team, error) {
	res, err := d.st.ListPrefix(ctx, store.KindTeams, OrgName(org)+".")
	if err != nil {
		return nil, err
	}
	out := make([]*api.Team, 0, len(res.Items))
	for _, raw := range res.Items {
		t := new(api.Team)
		if err := raw.Decode(t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// memberAccess is what user's teams of org grant (added up) and whether
// the user is in any of them.
func (d *Domain) memberAccess(ctx context.Context, user, org string) (Access, []string, error) {
	teams, err := d.orgTeams(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	acc := Access{}
	var names []string
	for _, t := range teams {
		if slices.Contains(t.Members, user) {
			acc.Add(teamAccess(t))
			names = append(names, t.Name)
		}
	}
	return acc, names, nil
}

// userOrgs is the organizations user belongs to, sorted.
func (d *Domain) userOrgs(ctx context.Context, user string) ([]string, error) {
	all, _, err := store.ListAll[api.Team](ctx, d.st, store.KindTeams)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, t := range all {
		if slices.Contains(t.Members, user) {
			set[OrgName(t.Org)] = true
		}
	}
	out := slices.Collect(maps.Keys(set))
	sort.Strings(out)
	return out, nil
}

// isServerAdmin is whether user is an owner of organization default.
func (d *Domain) isServerAdmin(ctx context.Context, user string) (bool, error) {
	var t api.Team
	if err := d.st.Get(ctx, store.KindTeams, ownersID(DefaultOrg), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return slices.Contains(t.Members, user), nil
}

// getOrg reads an organization; a missing one is store.ErrNotFound.
func (d *Domain) getOrg(ctx context.Context, name string) (*api.Org, error) {
	o := new(api.Org)
	if err := d.st.Get(ctx, store.KindOrgs, OrgName(name), o); err != nil {
		return nil, err
	}
	return o, nil
}

// member is whether the actor acts as someone in its organization (any
// authenticated actor: Authenticate checked the membership).
func (a Actor) member() bool { return a.User != "" || a.Token != "" }

func orgEvent(o *api.Org, typ, msg string) api.Event {
	return api.Event{Kind: "org", Object: o.ID, Name: o.Name, Org: o.ID, Type: typ, Message: msg}
}

func teamEvent(t *api.Team, typ, msg string) api.Event {
	return api.Event{Kind: "team", Object: t.ID, Name: t.Name, Org: t.Org, Type: typ, Message: msg}
}

// deleteTokensWhere queues the deletion of every token keep matches.
func (d *Domain) deleteTokensWhere(ctx context.Context, txn *store.Txn, match func(*records.Token) bool) error {
	all, _, err := store.ListAll[records.Token](ctx, d.st, store.KindTokens)
	if err != nil {
		return err
	}
	for _, t := range all {
		if match(t) {
			txn.Delete(store.KindTokens, t.ID, t.Revision)
		}
	}
	return nil
}
