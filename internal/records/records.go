// Package records holds the stored forms of objects whose stored form is
// not their wire form: what the store keeps of an object includes fields
// (a token's hash, a secret's sealed value) that the API must never send.
// Each record has a Wire method that returns what the API may show; the
// wire types in api/ do not have the stored-only fields at all, so a
// handler cannot send them even by mistake.
//
// A record keeps the JSON field names of the stored object it describes,
// so objects stored before this package existed read as they are.
package records

import (
	"time"

	"github.com/wharfhq/wharf/api"
)

// Token is an API token as stored: the wire api.Token and the SHA-256 of
// its secret. Its ID is the first 16 hex digits of Hash.
type Token struct {
	api.Meta
	// Hash is the SHA-256 (hex) of the secret.
	Hash string `json:"hash,omitempty"`
	// Role is api.RoleReadOnly, api.RoleDeploy or api.RoleAdmin; see
	// api.Token.EffectiveRole.
	Role string `json:"role"`
	// Admin is set exactly for admin tokens.
	Admin bool `json:"admin"`
	// User is the ID of the user the token acts as; "" for a token of no
	// user (made before users existed, or a team's robot token), which
	// acts in Meta.Org.
	User string `json:"user,omitempty"`
	// Team is the ID of the team whose robot token this is: it acts with
	// the team's access in the team's organization.
	Team string `json:"team,omitempty"`
	// ExpiresAt ends the token (zero: never).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Kind is api.TokenDockerCert for a Docker API client certificate,
	// whose Hash is its public key's (pki.KeyHash); "" for a bearer token.
	Kind string `json:"kind,omitempty"`
}

// Wire is the token as the API shows it: without its hash.
func (t *Token) Wire() api.Token {
	return api.Token{Meta: t.Meta, Role: t.Role, Admin: t.Admin, User: t.User, Team: t.Team, ExpiresAt: t.ExpiresAt, Kind: t.Kind}
}

// EffectiveRole is the role the server grants the token (see
// api.Token.EffectiveRole).
func (t *Token) EffectiveRole() string {
	w := t.Wire()
	return w.EffectiveRole()
}

// JoinToken is a join token as stored: the wire api.JoinToken and the
// SHA-256 of its secret part. Its ID is the first 16 hex digits of Hash.
type JoinToken struct {
	api.Meta
	// Hash is the SHA-256 (hex) of the token's secret part.
	Hash      string    `json:"hash,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	MaxUses   int64     `json:"max_uses,omitempty"`
	// Uses is how many nodes joined with the token so far; the store
	// fills it in on read (see store.ListJoinTokens).
	Uses int64 `json:"uses"`
}

// Wire is the join token as the API shows it: without its hash.
func (t *JoinToken) Wire() api.JoinToken {
	return api.JoinToken{Meta: t.Meta, ExpiresAt: t.ExpiresAt, MaxUses: t.MaxUses, Uses: t.Uses}
}

// defaultOrg is the organization of objects with no org field.
const defaultOrg = "default"

// NameKey is the ID of the name index entry (store.KindNames) that
// reserves name for an object of kind ("services", "stacks") in
// organization org: "<kind>.<name>" in the default organization (as
// before organizations existed, so old clusters need no migration),
// "<kind>@<org>.<name>" in any other. Organization names have no "."
// (their pattern forbids it), so the first "." after the "@" ends the
// organization and two organizations' keys never collide, even for
// names (secrets') that may hold a ".".
func NameKey(kind, org, name string) string {
	if org == "" || org == defaultOrg {
		return kind + "." + name
	}
	return kind + "@" + org + "." + name
}

// User is a user as stored: the wire api.User and its password's hash
// (argon2id, with its salt and parameters in the string).
type User struct {
	api.Meta
	PasswordHash string `json:"password_hash"`
}

// Wire is the user as the API shows it: without the password's hash.
func (u *User) Wire() api.User { return api.User{Meta: u.Meta} }
