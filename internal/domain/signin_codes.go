package domain

// One-time sign-in codes for the web dashboard: `wharf ui` asks for one
// with its API token and prints a link that carries it; the browser
// trades the code, once and within a minute, for a dashboard session
// token with the same rights as the token that asked.

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// SignInCodeTTL is how long a sign-in code may be traded.
const SignInCodeTTL = time.Minute

// SessionTTL bounds a dashboard session token made from a sign-in code
// (a shorter life when the token that asked expires sooner).
const SessionTTL = 12 * time.Hour

// signInCodePrefix marks a sign-in code: it is never an API token.
const signInCodePrefix = "wharfui_"

var errSignInCode = newErr(errdefs.ErrUnauthorized, "wrong, expired or used sign-in code: run `wharf ui` again for a new link (a link works once, within a minute)")

// CreateSignInCode makes a one-time code that signs a browser in with the
// rights of the actor's API token, for SignInCodeTTL. The store keeps its
// hash alone. Expired codes are swept away here.
func (d *Domain) CreateSignInCode(ctx context.Context, a Actor) (api.SignInCode, error) {
	if a.Token == "" {
		return api.SignInCode{}, newErr(errdefs.ErrForbidden, "only an API token can ask for a sign-in code")
	}
	d.sweepSignInCodes(ctx)
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return api.SignInCode{}, err
	}
	code := signInCodePrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	hash := pki.HashSecret(code)
	now := d.cfg.Now().UTC()
	c := records.SignInCode{Meta: api.Meta{ID: hashID(hash), Org: a.Org}, Hash: hash, Token: a.Token, ExpiresAt: now.Add(SignInCodeTTL)}
	if err := d.st.Create(ctx, store.KindSignInCodes, &c); err != nil {
		return api.SignInCode{}, err
	}
	return api.SignInCode{Code: code, ExpiresAt: c.ExpiresAt, Org: OrgName(a.Org)}, nil
}

// RedeemSignInCode trades a sign-in code, once, for a new API token with
// the rights of the token that made the code (its user or team, its
// organization, its role), living at most SessionTTL and no longer than
// that token. A wrong, expired or used code, or one whose token was
// deleted since, is an errdefs.ErrUnauthorized error. org is the
// organization the code was made in, for the session to start in.
func (d *Domain) RedeemSignInCode(ctx context.Context, code string) (tok api.TokenCreated, org string, err error) {
	if !strings.HasPrefix(code, signInCodePrefix) || len(code) > 128 {
		return api.TokenCreated{}, "", errSignInCode
	}
	hash := pki.HashSecret(code)
	var c records.SignInCode
	if err := d.st.Get(ctx, store.KindSignInCodes, hashID(hash), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.TokenCreated{}, "", errSignInCode
		}
		return api.TokenCreated{}, "", err
	}
	if !pki.SecretMatches(code, c.Hash) {
		return api.TokenCreated{}, "", errSignInCode
	}
	// Deleting it at the revision read makes it work once, however many
	// browsers race with it.
	if err := d.st.Delete(ctx, store.KindSignInCodes, c.ID, c.Revision); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return api.TokenCreated{}, "", errSignInCode
		}
		return api.TokenCreated{}, "", err
	}
	now := d.cfg.Now().UTC()
	if !now.Before(c.ExpiresAt) {
		return api.TokenCreated{}, "", errSignInCode
	}
	var from records.Token
	if err := d.st.Get(ctx, store.KindTokens, c.Token, &from); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.TokenCreated{}, "", errSignInCode
		}
		return api.TokenCreated{}, "", err
	}
	if from.Kind != "" || (!from.ExpiresAt.IsZero() && !now.Before(from.ExpiresAt)) {
		return api.TokenCreated{}, "", errSignInCode
	}
	t, secret, err := newToken("ui-"+now.Format("20060102T150405Z"), from.EffectiveRole())
	if err != nil {
		return api.TokenCreated{}, "", err
	}
	t.User, t.Team, t.Org = from.User, from.Team, from.Org
	t.ExpiresAt = now.Add(SessionTTL).Truncate(time.Second)
	if !from.ExpiresAt.IsZero() && from.ExpiresAt.Before(t.ExpiresAt) {
		t.ExpiresAt = from.ExpiresAt
	}
	noteObject(ctx, t.ID)
	if err := d.st.Create(ctx, store.KindTokens, &t); err != nil {
		return api.TokenCreated{}, "", err
	}
	return api.TokenCreated{Token: t.Wire(), Secret: secret}, OrgName(c.Org), nil
}

// sweepSignInCodes deletes the codes that expired unused (best effort:
// a failure leaves them for the next sweep).
func (d *Domain) sweepSignInCodes(ctx context.Context) {
	all, _, err := store.ListAll[records.SignInCode](ctx, d.st, store.KindSignInCodes)
	if err != nil {
		return
	}
	now := d.cfg.Now()
	for _, c := range all {
		if !now.Before(c.ExpiresAt) {
			_ = d.st.Delete(ctx, store.KindSignInCodes, c.ID, c.Revision)
		}
	}
}
