package domain

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// Authenticate finds the API token whose secret this is and returns the
// actor it makes in organization org (the Wharf-Org header; "" for the
// token's own). A secret of no stored token (a wrong one, or a deleted
// token's) and an expired token are errdefs.ErrUnauthorized errors. Every
// call reads the token from the store (one Get by the hash's prefix), so a
// deleted token stops working at once; likewise a user's teams, so a user
// removed from an organization loses it at once.
//
//   - A token of no user and no team (every token before users existed)
//     acts in its organization with an owner's access, narrowed by its
//     role; naming another organization is forbidden.
//   - A user's token acts in org with what the user's teams there grant,
//     added up, narrowed by the token's role; org "" is the token's own
//     organization, else the user's only one (or "default" among several).
//     An organization the user is not in is not found.
//   - A team's robot token acts in the team's organization with the
//     team's access, narrowed by its role.
//
// The server's administrators (owners of "default", and tokens of no user
// in "default" with the admin role) also get Admin in AreaServer. A call
// over the organization's Quotas.TokenRate is a *RateLimitedError.
func (d *Domain) Authenticate(ctx context.Context, secret, org string) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "wrong API token: no such token (it may have been deleted)")
	if !strings.HasPrefix(secret, "wharf_") {
		return Actor{}, wrong
	}
	hash := pki.HashSecret(secret)
	var t records.Token
	rev, err := d.st.GetAt(ctx, store.KindTokens, hashID(hash), &t)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Actor{}, wrong
		}
		return Actor{}, err
	}
	if !pki.SecretMatches(secret, t.Hash) {
		return Actor{}, wrong
	}
	now := d.cfg.Now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "API token %q expired at %s: log in again or create a new token", cmp.Or(t.Name, t.ID), t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if t.Kind != "" {
		return Actor{}, wrong // a Docker client certificate's record: it has no secret
	}
	a, err := d.actorFor(ctx, &t, org, now)
	if err != nil {
		return Actor{}, err
	}
	a.seenRev = rev
	return a, nil
}

// actorFor is the actor of token t acting in org ("": its default), once
// its credential is proven: what its user's or team's membership grants,
// narrowed by its role, and throttled per organization.
func (d *Domain) actorFor(ctx context.Context, t *records.Token, org string, now time.Time) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "the token's team no longer exists")
	a := Actor{Name: cmp.Or(t.Name, t.ID), Token: t.ID, Role: t.EffectiveRole()}
	switch {
	case t.Team != "":
		var team api.Team
		if err := d.st.Get(ctx, store.KindTeams, t.Team, &team); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Actor{}, wrong
			}
			return Actor{}, err
		}
		a.Org = OrgName(team.Org)
		if org != "" && org != a.Org {
			return Actor{}, newErr(errdefs.ErrForbidden, "this token belongs to organization %q; it cannot act in %q", a.Org, org)
		}
		a.Access = teamAccess(&team)
	case t.User != "":
		a.User, a.Name = t.User, t.User
		if org == "" {
			o, err := d.defaultOrgOf(ctx, t.User, t.Org)
			if err != nil {
				return Actor{}, err
			}
			org = o
		}
		if !orgNameRE.MatchString(org) {
			return Actor{}, errdefs.Invalid(api.OrgHeader, "organization name %q must match %s", org, orgNameRE)
		}
		acc, teams, err := d.memberAccess(ctx, t.User, org)
		if err != nil {
			return Actor{}, err
		}
		if len(teams) == 0 {
			return Actor{}, newErr(errdefs.ErrNotFound, "organization %q not found (user %q is not a member of it)", org, t.User)
		}
		a.Org, a.Access = org, acc
		admin := org == DefaultOrg && slices.Contains(teams, api.OwnersTeam)
		if org != DefaultOrg {
			if admin, err = d.isServerAdmin(ctx, t.User); err != nil {
				return Actor{}, err
			}
		}
		if admin {
			a.Access[AreaServer] = Admin
		}
	default:
		// A token of no user (every token before users existed) acts in
		// its organization with an owner's access, narrowed by its role.
		a.Org = OrgName(t.Org)
		if org != "" && org != a.Org {
			return Actor{}, newErr(errdefs.ErrForbidden, "this token belongs to organization %q; it cannot act in %q", a.Org, org)
		}
		a.Access = FullAccess()
		if a.Org != DefaultOrg {
			delete(a.Access, AreaServer)
		}
	}
	if err := d.throttle(ctx, &a, now); err != nil {
		return Actor{}, err
	}
	return a, nil
}

// defaultOrgOf is the organization a user's token acts in when the call
// names none: the token's own, else the user's only organization, else
// "default" when the user is in it; else an error listing them.
func (d *Domain) defaultOrgOf(ctx context.Context, user, tokenOrg string) (string, error) {
	if tokenOrg != "" {
		return tokenOrg, nil
	}
	// A member of default acts there: one range read of default's teams,
	// not a read of every team.
	if _, teams, err := d.memberAccess(ctx, user, DefaultOrg); err != nil || len(teams) > 0 {
		return DefaultOrg, err
	}
	orgs, err := d.userOrgs(ctx, user)
	if err != nil {
		return "", err
	}
	switch {
	case len(orgs) == 1:
		return orgs[0], nil
	case slices.Contains(orgs, DefaultOrg):
		return DefaultOrg, nil
	case len(orgs) == 0:
		return "", newErr(errdefs.ErrForbidden, "user %q belongs to no organization yet: ask an owner of one to add you to a team", user)
	}
	return "", newErr(errdefs.ErrInvalid, "user %q belongs to several organizations (%s): name one with the %s header (wharf --org NAME, or wharf org use NAME)",
		user, strings.Join(orgs, ", "), api.OrgHeader)
}

// throttle refuses a call over the token rate of the actor's
// organization.
func (d *Domain) throttle(ctx context.Context, a *Actor, now time.Time) error {
	rate, err := d.tokenRate(ctx, a.Org, now)
	if err != nil {
		return err
	}
	if rate <= 0 {
		return nil
	}
	if wait := d.limiter.allow(a.Token, rate, now); wait > 0 {
		return rateLimited(a.Name, rate, wait)
	}
	return nil
}

// rateTTL is how long a server keeps an organization's token rate before
// reading it again: a changed quota applies within it, and most calls
// read no more than their token.
const rateTTL = time.Second

// tokenRate is org's Quotas.TokenRate (0 for a missing organization),
// read at most once per rateTTL.
func (d *Domain) tokenRate(ctx context.Context, org string, now time.Time) (float64, error) {
	d.rates.mu.Lock()
	c, ok := d.rates.m[org]
	d.rates.mu.Unlock()
	if ok && now.Sub(c.at) < rateTTL && now.Sub(c.at) >= 0 {
		return c.rate, nil
	}
	var rate float64
	o, err := d.getOrg(ctx, org)
	switch {
	case err == nil:
		rate = o.Quotas.TokenRate
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	d.rates.mu.Lock()
	if d.rates.m == nil || len(d.rates.m) > maxBuckets {
		d.rates.m = map[string]cachedRate{}
	}
	d.rates.m[org] = cachedRate{rate: rate, at: now}
	d.rates.mu.Unlock()
	return rate, nil
}
