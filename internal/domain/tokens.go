package domain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
// ask for one). It stores only the secret's hash and returns the secret,
// the only time it is shown. It refuses an actor who is not a tokens
// admin, an invalid name, an unknown role, and admin with another role.
func (d *Domain) CreateToken(ctx context.Context, a Actor, name, role string, admin bool) (api.TokenCreated, error) {
	if err := a.need(OrgManage); err != nil {
		return api.TokenCreated{}, err
	}
	if !tokenNameRE.MatchString(name) {
		return api.TokenCreated{}, errdefs.Invalid("name", "token name %q must match %s", name, tokenNameRE)
	}
	role, err := tokenRole(role, admin)
	if err != nil {
		return api.TokenCreated{}, err
	}
	t, secret, err := newToken(name, role)
	if err != nil {
		return api.TokenCreated{}, err
	}
	t.Org = a.orgOf()
	noteObject(ctx, t.ID)
	if err := d.st.Create(ctx, store.KindTokens, &t, tokenEvent(&t, "created", fmt.Sprintf("%s token %s created", t.Role, t.Name))); err != nil {
		return api.TokenCreated{}, err
	}
	return api.TokenCreated{Token: t.Wire(), Secret: secret}, nil
}

// ListTokens reads a page of the API tokens of the actor's organization,
// never their hashes. It refuses an actor who is not a tokens admin.
func (d *Domain) ListTokens(ctx context.Context, a Actor, p Page) (api.List[api.Token], error) {
	if err := a.need(OrgManage); err != nil {
		return api.List[api.Token]{Items: []api.Token{}}, err
	}
	stored, err := listPage[records.Token](ctx, d.st, store.KindTokens, p, func(t *records.Token) bool { return a.owns(&t.Meta) })
	out := api.List[api.Token]{Items: make([]api.Token, 0, len(stored.Items)), Next: stored.Next}
	for i := range stored.Items {
		out.Items = append(out.Items, stored.Items[i].Wire())
	}
	return out, err
}

// DeleteToken removes an API token of the actor's organization (another
// organization's is not found); it stops working at once. It refuses an
// actor who is not a tokens admin, and the organization's last admin
// token, so it is never left without one.
func (d *Domain) DeleteToken(ctx context.Context, a Actor, id string) error {
	if err := a.need(OrgManage); err != nil {
		return err
	}
	noteObject(ctx, id)
	var t records.Token
	if err := d.st.Get(ctx, store.KindTokens, id, &t); err != nil {
		return explainWrite(err, "token", id)
	}
	if !a.owns(&t.Meta) {
		return notFoundErr("token", id)
	}
	if t.Admin {
		all, _, err := store.ListAll[records.Token](ctx, d.st, store.KindTokens)
		if err != nil {
			return err
		}
		admins := 0
		for _, o := range all {
			if o.Admin && OrgName(o.Org) == OrgName(t.Org) {
				admins++
			}
		}
		if admins <= 1 {
			return newErr(errdefs.ErrConflict, "token %q is the last admin token; create another admin token before deleting it", t.Name)
		}
	}
	if err := d.st.Delete(ctx, store.KindTokens, id, 0, tokenEvent(&t, "deleted", "token "+t.Name+" deleted")); err != nil {
		return explainWrite(err, "token", id)
	}
	return nil
}

// Authenticate finds the API token whose secret this is and returns the
// actor it makes: named by the token (its ID when it has no name), with
// the token's effective role. A secret of no stored token (a wrong one, or
// a deleted token's) is an errdefs.ErrUnauthorized error. Every call reads
// the token from the store (one Get by the hash's prefix), so a deleted
// token stops working at once.
func (d *Domain) Authenticate(ctx context.Context, secret string) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "wrong API token: no such token (it may have been deleted)")
	if !strings.HasPrefix(secret, "wharf_") {
		return Actor{}, wrong
	}
	hash := pki.HashSecret(secret)
	var t records.Token
	if err := d.st.Get(ctx, store.KindTokens, hashID(hash), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Actor{}, wrong
		}
		return Actor{}, err
	}
	if !pki.SecretMatches(secret, t.Hash) {
		return Actor{}, wrong
	}
	// A token of no user (every token before users existed) acts in its
	// organization with an owner's access, narrowed by its role.
	return Actor{Name: cmp.Or(t.Name, t.ID), Token: t.ID, Org: OrgName(t.Org), Access: FullAccess(), Role: t.EffectiveRole()}, nil
}

// AdminTokenFile is where Bootstrap writes the first admin token's secret,
// in the server's data directory.
const AdminTokenFile = "admin-token"

// Bootstrap makes the first admin token if no token exists yet: it stores
// only its hash, writes the secret to <dataDir>/admin-token (mode 0600) and
// returns it with created=true. If tokens exist it returns created=false and
// the secret from that file if the file is present ("" otherwise).
func Bootstrap(ctx context.Context, st *store.Store, dataDir string) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	res, err := st.List(ctx, store.KindTokens, store.ListOptions{Limit: 1})
	if err != nil {
		return "", false, err
	}
	if len(res.Items) > 0 {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		return strings.TrimSpace(string(b)), false, nil
	}
	t, secret, err := newToken("admin", api.RoleAdmin)
	if err != nil {
		return "", false, err
	}
	// The file first: a token whose secret nobody has would lock the
	// cluster out, while a file whose token was never stored is replaced
	// by the next Bootstrap.
	if err := writeSecretFile(path, secret); err != nil {
		return "", false, err
	}
	if err := st.Create(ctx, store.KindTokens, &t, tokenEvent(&t, "created", "first admin token created")); err != nil {
		return "", false, fmt.Errorf("store the first admin token: %w", err)
	}
	return secret, true, nil
}

// writeSecretFile writes a secret with mode 0600, atomically.
func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".admin-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
