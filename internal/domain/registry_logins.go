package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// Registry credentials: one per organization and registry host, the
// password sealed (seal.Sealer) before it reaches the store. No operation
// returns the password, puts it in an event or notes it for the audit
// trail. The domain opens it only to resolve an image's digest (pin.go);
// the agent gateway opens it for the nodes that pull from that host.
//
// Who may: writing (login, logout) is registry.admin, since a credential
// acts for the whole organization; listing hosts and users is
// registry.pull.

// maxRegistryPassword bounds a stored password (tokens of cloud
// registries run to a few kilobytes).
const maxRegistryPassword = 16 << 10

// validateRegistryHost checks a host as login takes it and returns its
// normalized form (api.NormalizeRegistryHost).
func validateRegistryHost(host string) (string, error) {
	h := api.NormalizeRegistryHost(host)
	if h == "" || len(h) > 253 || strings.ContainsAny(h, "/@ \t\r\n") || strings.IndexFunc(h, unicode.IsControl) >= 0 {
		return "", newErr(errdefs.ErrInvalid, "registry host %q: want host or host:port, such as registry.example.com:5000 (docker.io for Docker Hub)", host)
	}
	return h, nil
}

// RegistryLogin stores the actor's organization's credential for a
// registry host, replacing any it had. It refuses an actor without
// registry.admin, a bad host, an empty user or password, and a server
// without a data key.
func (d *Domain) RegistryLogin(ctx context.Context, a Actor, host, username, password string) (*api.RegistryLogin, error) {
	if err := a.need(RegistryAdmin); err != nil {
		return nil, err
	}
	h, err := validateRegistryHost(host)
	if err != nil {
		return nil, err
	}
	switch {
	case username == "" || len(username) > 256 || strings.IndexFunc(username, unicode.IsControl) >= 0:
		return nil, newErr(errdefs.ErrInvalid, "registry login %s: a user name is required (-u USER), at most 256 characters, no control characters", h)
	case password == "":
		return nil, newErr(errdefs.ErrInvalid, "registry login %s: the password is empty; pass it on standard input with --password-stdin", h)
	case len(password) > maxRegistryPassword:
		return nil, newErr(errdefs.ErrInvalid, "registry login %s: the password is over %d bytes", h, maxRegistryPassword)
	}
	if d.cfg.Sealer == nil {
		return nil, newErr(errdefs.ErrUnavailable, "this server cannot seal registry credentials (it has no data key)")
	}
	org := OrgName(a.Org)
	sealed, err := d.cfg.Sealer.Seal(records.RegistryAuthPurpose(org, h), []byte(password))
	if err != nil {
		return nil, fmt.Errorf("seal the credential for %s: %w", h, err)
	}
	id := records.RegistryAuthID(org, h)
	noteObject(ctx, id)
	ev := api.Event{Kind: "registry", Object: id, Name: h, Type: "login",
		Message: "registry credential for " + h + " (user " + username + ") stored"}
	var old records.RegistryAuth
	err = d.st.Get(ctx, store.KindRegistryAuths, id, &old)
	switch {
	case err == nil:
		old.Username, old.Sealed = username, sealed
		err = d.st.Update(ctx, store.KindRegistryAuths, &old, ev)
	case errors.Is(err, store.ErrNotFound):
		old = records.RegistryAuth{Meta: api.Meta{ID: id, Name: h, Org: org}, Username: username, Sealed: sealed}
		err = d.st.Create(ctx, store.KindRegistryAuths, &old, ev)
	}
	if err != nil {
		return nil, explainWrite(err, "registry credential", h)
	}
	out := old.Wire()
	return &out, nil
}

// RegistryLogout removes the actor's organization's credential for a
// registry host. It refuses an actor without registry.admin and a host
// the organization has no credential for.
func (d *Domain) RegistryLogout(ctx context.Context, a Actor, host string) error {
	if err := a.need(RegistryAdmin); err != nil {
		return err
	}
	h, err := validateRegistryHost(host)
	if err != nil {
		return err
	}
	id := records.RegistryAuthID(OrgName(a.Org), h)
	noteObject(ctx, id)
	var r records.RegistryAuth
	if err := d.st.Get(ctx, store.KindRegistryAuths, id, &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return newErr(errdefs.ErrNotFound, "this organization has no credential for registry %s; see `wharf registry ls`", h)
		}
		return err
	}
	ev := api.Event{Kind: "registry", Object: id, Name: h, Type: "logout", Message: "registry credential for " + h + " removed"}
	return explainWrite(d.st.Delete(ctx, store.KindRegistryAuths, id, r.Revision, ev), "registry credential", h)
}

// RegistryLogins lists the actor's organization's registry credentials:
// hosts and users, never passwords. It needs registry.pull.
func (d *Domain) RegistryLogins(ctx context.Context, a Actor) ([]api.RegistryLogin, error) {
	if err := a.need(RegistryPull); err != nil {
		return nil, err
	}
	res, err := d.st.ListPrefix(ctx, store.KindRegistryAuths, records.RegistryAuthPrefix(OrgName(a.Org)))
	if err != nil {
		return nil, err
	}
	out := []api.RegistryLogin{}
	for _, raw := range res.Items {
		var r records.RegistryAuth
		if err := raw.Decode(&r); err != nil {
			continue
		}
		out = append(out, r.Wire())
	}
	return out, nil
}

// registryAuth opens org's credential for host: nil when it has none.
func (d *Domain) registryAuth(ctx context.Context, org, host string) (*api.RegistryAuth, error) {
	var r records.RegistryAuth
	if err := d.st.Get(ctx, store.KindRegistryAuths, records.RegistryAuthID(org, host), &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if d.cfg.Sealer == nil {
		return nil, newErr(errdefs.ErrUnavailable, "this server cannot open registry credentials (it has no data key)")
	}
	pw, err := d.cfg.Sealer.Open(records.RegistryAuthPurpose(org, host), r.Sealed)
	if err != nil {
		return nil, fmt.Errorf("open the credential for registry %s: %w", host, err)
	}
	return &api.RegistryAuth{Username: r.Username, Password: string(pw)}, nil
}
