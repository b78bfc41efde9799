package domain

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// LoginTTL is how long a token made by logging in lives.
const LoginTTL = 30 * 24 * time.Hour

// errLogin is the one answer to a wrong name or a wrong password: which of
// the two was wrong is not told.
var errLogin = newErr(errdefs.ErrUnauthorized, "wrong user name or password")

// Login trades a user's name and password for an API token of the user
// (named login-<time>, living LoginTTL, not narrowed). A wrong name and a
// wrong password get the same errdefs.ErrUnauthorized error, after the
// same work (a missing user's password is checked against a dummy hash).
// The API counts failures against the caller's address.
func (d *Domain) Login(ctx context.Context, req api.LoginRequest) (api.TokenCreated, error) {
	var u records.User
	err := store.ErrNotFound // a name that cannot be a user's is not looked up
	if userNameRE.MatchString(req.User) {
		err = d.st.Get(ctx, store.KindUsers, req.User, &u)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return api.TokenCreated{}, err
	}
	if err != nil || len(req.Password) > 1024 {
		passwordMatches(req.Password, dummyHash())
		return api.TokenCreated{}, errLogin
	}
	if !passwordMatches(req.Password, u.PasswordHash) {
		return api.TokenCreated{}, errLogin
	}
	now := d.cfg.Now().UTC()
	t, secret, err := newToken("login-"+now.Format("20060102T150405Z"), api.RoleAdmin)
	if err != nil {
		return api.TokenCreated{}, err
	}
	t.User = u.ID
	t.ExpiresAt = now.Add(LoginTTL).Truncate(time.Second)
	noteObject(ctx, t.ID)
	// No event: the token belongs to the user, not to an organization
	// whose event stream could show it.
	if err := d.st.Create(ctx, store.KindTokens, &t); err != nil {
		return api.TokenCreated{}, err
	}
	return api.TokenCreated{Token: t.Wire(), Secret: secret}, nil
}
