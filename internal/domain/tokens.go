package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// hashID is the store ID of the object holding a hash: its first 16 hex
// digits, so a lookup is one Get.
func hashID(hash string) string { return hash[:16] }

// newToken makes an API token of role: the stored record (ID = the first
// 16 hex digits of the secret's SHA-256, Hash = all of it) and the secret.
func newToken(name, role string) (records.Token, string, error) {
	secret, hash, err := pki.NewAPIToken()
	if err != nil {
		return records.Token{}, "", err
	}
	t := records.Token{Meta: api.Meta{ID: hashID(hash), Name: name}, Hash: hash, Role: role, Admin: role == api.RoleAdmin}
	return t, secret, nil
}

func tokenEvent(t *records.Token, typ, msg string) api.Event {
	return api.Event{Kind: "token", Object: t.ID, Org: t.Org, Name: t.Name, Type: typ, Message: msg}
}

// tokenRole is the role a token request asks for: role, or admin with the
// older "admin": true; read-only, the least privilege, when neither.
func tokenRole(role string, admin bool) (string, error) {
	switch {
	case admin && role != "" && role != api.RoleAdmin:
		return "", errdefs.Invalid("role", "\"admin\": true asks for an admin token, \"role\" for a %s one: send only \"role\"", role)
	case admin:
		return api.RoleAdmin, nil
	case role == "":
		return api.RoleReadOnly, nil
	case slices.Contains(api.Roles, role):
		return role, nil
	}
	return "", errdefs.Invalid("role", "unknown role %q: want %s", role, strings.Join(api.Roles, ", "))
}

// CreateToken makes an API token named name with role (one of api.Roles;
// "" for read-only), or an admin token when admin is set (the older way to
// ask for one): CreateTokenFor without a team or expiry.
func (d *Domain) CreateToken(ctx context.Context, a Actor, name, role string, admin bool) (api.TokenCreated, error) {
	return d.CreateTokenFor(ctx, a, api.CreateTokenRequest{Name: name, Role: role, Admin: admin})
}

// roleRank orders roles by privilege.
func roleRank(role string) int {
	switch role {
	case "", api.RoleAdmin:
		return 2
	case api.RoleDeploy:
		return 1
	}
	return 0
}

// MayCreateToken is whether the actor may make a token of its own (no
// team's): a user's unnarrowed token (such as a login's), or a token of no
// user that manages its organization. CreateTokenFor decides by it; a
// front door may ask it to offer the form.
func (a Actor) MayCreateToken() bool {
	if a.User == "" {
		return a.Can(OrgManage)
	}
	return a.member() && (a.effectiveRole() == "" || a.effectiveRole() == api.RoleAdmin)
}

// CreateTokenFor makes an API token. It stores only the secret's hash and
// returns the secret, the only time it is shown.
//
//   - With req.Team: a robot token of that team of the actor's
//     organization (OrgManage); it acts with the team's access.
//   - From a user: the user's own token (no OrgManage needed), acting as
//     the user; its role may only narrow the caller's (a narrowed token
//     cannot make a wider one, and only an unnarrowed one makes tokens).
//   - Else (a token of no user): a token of no user in the actor's
//     organization, as before users existed (OrgManage).
//
// Role "" is read-only for a token of no user, and no narrowing for a
// user's or a team's. It refuses an invalid name, an unknown role, admin
// with another role, and an invalid TTL.
func (d *Domain) CreateTokenFor(ctx context.Context, a Actor, req api.CreateTokenRequest) (api.TokenCreated, error) {
	if req.Team != "" || a.User == "" {
		if err := a.need(OrgManage); err != nil {
			return api.TokenCreated{}, err
		}
	} else if !a.MayCreateToken() {
		return api.TokenCreated{}, newErr(errdefs.ErrForbidden, "token %q is a %s token: only a token that is not narrowed to a role (such as a login's) may create tokens", a.Name, a.effectiveRole())
	}
	if !tokenNameRE.MatchString(req.Name) {
		return api.TokenCreated{}, errdefs.Invalid("name", "token name %q must match %s", req.Name, tokenNameRE)
	}
	role, admin := req.Role, req.Admin
	if role == "" && !admin && (a.User != "" || req.Team != "") {
		role = api.RoleAdmin
	}
	role, err := tokenRole(role, admin)
	if err != nil {
		return api.TokenCreated{}, err
	}
	if roleRank(role) > roleRank(a.effectiveRole()) {
		return api.TokenCreated{}, errdefs.Invalid("role", "a %s token cannot create a %s token: a token's role may only narrow its creator's", a.effectiveRole(), role)
	}
	var ttl time.Duration
	if req.TTL != "" {
		ttl, err = time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return api.TokenCreated{}, errdefs.Invalid("ttl", "%q is not a positive duration such as 720h or 30m", req.TTL)
		}
	}
	var (
		t       records.Token
		secret  string
		certPEM string
	)
	if req.CSR != "" {
		if ttl == 0 {
			ttl = api.DefaultDockerCertTTL
		}
		t, certPEM, err = d.newCertToken(req.Name, role, req.CSR, ttl)
	} else {
		t, secret, err = newToken(req.Name, role)
	}
	if err != nil {
		return api.TokenCreated{}, err
	}
	if ttl > 0 {
		t.ExpiresAt = d.cfg.Now().UTC().Add(ttl).Truncate(time.Second)
	}
	if a.Org != DefaultOrg {
		t.Org = a.Org
	}
	switch {
	case req.Team != "":
		team, err := d.getTeam(ctx, a.Org, req.Team)
		if err != nil {
			return api.TokenCreated{}, err
		}
		t.Team, t.Org = team.ID, team.Org
	case a.User != "":
		// A user's token belongs to the organization it was made in (its
		// owners see it), even "default"; only login tokens have none.
		t.User, t.Org = a.User, OrgName(a.Org)
	}
	noteObject(ctx, t.ID)
	ev := tokenEvent(&t, "created", fmt.Sprintf("%s token %s created", t.Role, t.Name))
	ev.Org = t.Org
	if err := d.st.Create(ctx, store.KindTokens, &t, ev); err != nil {
		return api.TokenCreated{}, err
	}
	out := api.TokenCreated{Token: t.Wire(), Secret: secret, Certificate: certPEM}
	if certPEM != "" {
		out.CA = string(d.cfg.DockerCA.CertPEM())
		if e, ok := d.cfg.DockerCA.(DockerEndpoint); ok {
			out.DockerHost = e.DockerHost()
		}
	}
	return out, nil
}

// legacyToken is whether t is a token of no user and no team.
func legacyToken(t *records.Token) bool { return t.User == "" && t.Team == "" }

// tokenOrg is the organization whose owners manage t: its Meta.Org (a
// robot token's is its team's); "" for a user's token made by logging in,
// which belongs to its user only.
func tokenOrg(t *records.Token) string {
	if t.User != "" && t.Org == "" {
		return ""
	}
	return OrgName(t.Org)
}

// canSeeToken is whether a may list and delete t: its own user, the
// owners of its organization, the server's administrators.
func (a Actor) canSeeToken(t *records.Token) bool {
	switch {
	case a.User != "" && t.User == a.User:
		return true
	case a.Can(ServerAdmin):
		return true
	case a.Can(OrgManage):
		return tokenOrg(t) == OrgName(a.Org)
	}
	return false
}

// ListTokens reads a page of API tokens, never their hashes: a user's own,
// and every token of the organization for its owners. It refuses a token
// of no user that is not an owner's.
func (d *Domain) ListTokens(ctx context.Context, a Actor, p Page) (api.List[api.Token], error) {
	if a.User == "" {
		if err := a.need(OrgManage); err != nil {
			return api.List[api.Token]{Items: []api.Token{}}, err
		}
	}
	stored, err := listPage[records.Token](ctx, d.st, store.KindTokens, p, func(t *records.Token) bool { return a.canSeeToken(t) })
	out := api.List[api.Token]{Items: make([]api.Token, 0, len(stored.Items)), Next: stored.Next}
	for i := range stored.Items {
		out.Items = append(out.Items, stored.Items[i].Wire())
	}
	return out, err
}

// DeleteToken removes an API token, named by its ID or, as `wharf token
// ls` shows it, by its name; it stops working at once. Names need not be
// unique: a name that several tokens the actor sees have is a conflict that
// lists their IDs. A user may delete their own tokens; an owner of the
// organization any of its. It refuses the last admin token of no user in
// "default", so the cluster is never left without one; a token the actor
// may not see is not found.
func (d *Domain) DeleteToken(ctx context.Context, a Actor, ref string) error {
	if a.User == "" {
		if err := a.need(OrgManage); err != nil {
			return err
		}
	}
	noteObject(ctx, ref)
	found, err := d.resolveToken(ctx, a, ref)
	if err != nil {
		return err
	}
	t, id := *found, found.ID
	noteObject(ctx, id)
	if t.User != a.User || a.User == "" {
		if err := a.need(OrgManage); err != nil {
			return err
		}
	}
	// A Docker client certificate never keeps the cluster administrable
	// (it cannot call the REST API): it neither counts nor is kept.
	if t.Admin && t.Kind != api.TokenDockerCert && legacyToken(&t) && OrgName(t.Org) == DefaultOrg {
		all, _, err := store.ListAll[records.Token](ctx, d.st, store.KindTokens)
		if err != nil {
			return err
		}
		admins := 0
		for _, o := range all {
			if o.Admin && o.Kind != api.TokenDockerCert && legacyToken(o) && OrgName(o.Org) == DefaultOrg {
				admins++
			}
		}
		if admins <= 1 {
			return newErr(errdefs.ErrConflict, "token %q is the last admin token; create another admin token before deleting it", t.Name)
		}
	}
	var evs []api.Event
	if tokenOrg(&t) != "" { // a login token's deletion is no organization's event
		ev := tokenEvent(&t, "deleted", "token "+t.Name+" deleted")
		ev.Org = t.Org
		evs = append(evs, ev)
	}
	if err := d.st.Delete(ctx, store.KindTokens, id, 0, evs...); err != nil {
		return explainWrite(err, "token", id)
	}
	return nil
}

// resolveToken finds a token the actor may see by ID, else by name.
func (d *Domain) resolveToken(ctx context.Context, a Actor, ref string) (*records.Token, error) {
	var t records.Token
	err := d.st.Get(ctx, store.KindTokens, ref, &t)
	if err == nil && a.canSeeToken(&t) {
		return &t, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, explainWrite(err, "token", ref)
	}
	all, _, err := store.ListAll[records.Token](ctx, d.st, store.KindTokens)
	if err != nil {
		return nil, err
	}
	var found []*records.Token
	for _, o := range all {
		if o.Name == ref && a.canSeeToken(o) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFoundErr("token", ref)
	case 1:
		return found[0], nil
	default:
		ids := make([]string, len(found))
		for i, o := range found {
			ids[i] = o.ID
		}
		return nil, newErr(errdefs.ErrConflict, "%d tokens are named %q; name one by its ID: %s", len(found), ref, strings.Join(ids, ", "))
	}
}
