package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// Secrets: the value is sealed (seal.Sealer) before it reaches the store,
// and no operation here returns it, puts it in an event or notes it for
// the audit trail. Only the agent gateway opens it, for the nodes that
// run a container using it.

// secretWriteAttempts bounds UpdateSecret's retries when a service it
// rolls changes under it.
const secretWriteAttempts = 5

func newSecretID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func secretEvent(s *records.Secret, typ, msg string) api.Event {
	return api.Event{Kind: "secret", Object: s.ID, Name: s.Name, Type: typ, Message: "secret " + s.Name + " " + msg}
}

// resolveSecret finds a secret of the actor's organization by ID, then
// by name.
func (d *Domain) resolveSecret(ctx context.Context, a Actor, ref string) (*records.Secret, error) {
	var s records.Secret
	err := d.st.Get(ctx, store.KindSecrets, ref, &s)
	if err == nil && OrgName(s.Org) == OrgName(a.Org) {
		return &s, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	p, err := byName[records.Secret](ctx, d.st, store.KindSecrets, records.SecretNameKey(OrgName(a.Org), ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundErr("secret", ref)
	}
	return p, err
}

// seal seals data for s (org and name set).
func (d *Domain) seal(s *records.Secret, data []byte) error {
	if d.cfg.Sealer == nil {
		return newErr(errdefs.ErrUnavailable, "this server cannot seal secrets (it has no data key)")
	}
	sealed, err := d.cfg.Sealer.Seal(records.SealPurpose(s.Org, s.Name), data)
	if err != nil {
		return fmt.Errorf("seal secret %s: %w", s.Name, err)
	}
	s.Sealed, s.Size = sealed, len(data)
	return nil
}

// CreateSecret stores a new secret of the actor's organization, its value
// sealed. It refuses an actor without secrets Write, a bad name, an empty
// value or one over api.MaxSecretSize, and a name already taken. The
// answer is the metadata only.
func (d *Domain) CreateSecret(ctx context.Context, a Actor, name string, data []byte) (*api.Secret, error) {
	if err := a.need(SecretsWrite); err != nil {
		return nil, err
	}
	if err := validateSecretName(name); err != nil {
		return nil, err
	}
	if err := validateSecretData(data); err != nil {
		return nil, err
	}
	s := records.Secret{Meta: api.Meta{ID: newSecretID(), Name: name, Org: OrgName(a.Org)}, Version: 1}
	if err := d.seal(&s, data); err != nil {
		return nil, err
	}
	noteObject(ctx, s.ID)
	t := d.st.Txn()
	t.Create(store.KindSecrets, &s)
	t.Create(store.KindNames, &nameIndex{api.Meta{ID: records.SecretNameKey(s.Org, s.Name), Name: s.ID}})
	t.Emit(secretEvent(&s, "created", "created"))
	if err := t.Commit(ctx); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, newErr(errdefs.ErrConflict, "a secret named %q already exists", name)
		}
		return nil, err
	}
	out := s.Wire()
	return &out, nil
}

// UpdateSecret replaces a secret's value and raises its version; in the
// same transaction every service of the organization that uses it is
// rolled (its generation raised, as a redeploy does), so that new
// containers get the new value. rev > 0 is the secret's revision the
// caller read (compare-and-swap). It refuses an actor without secrets
// Write, a bad value and a stale revision.
func (d *Domain) UpdateSecret(ctx context.Context, a Actor, ref string, data []byte, rev int64) (*api.Secret, error) {
	if err := a.need(SecretsWrite); err != nil {
		return nil, err
	}
	if err := validateSecretData(data); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		s, err := d.resolveSecret(ctx, a, ref)
		if err != nil {
			return nil, err
		}
		noteObject(ctx, s.ID)
		if rev > 0 && s.Revision != rev {
			return nil, staleErr("secret", ref, rev, s.Revision)
		}
		users, err := d.secretUsers(ctx, s, false)
		if err != nil {
			return nil, err
		}
		if err := d.seal(s, data); err != nil {
			return nil, err
		}
		s.Version++
		t := d.st.Txn()
		t.Update(store.KindSecrets, s)
		t.Emit(secretEvent(s, "updated", fmt.Sprintf("updated (version %d)", s.Version)))
		for _, svc := range users {
			if svc.Terminating {
				continue
			}
			ev := rerun(svc, "secret "+s.Name+" updated") // before Update, which encodes svc
			t.Update(store.KindServices, svc)
			t.Emit(ev)
		}
		err = t.Commit(ctx)
		if err == nil {
			out := s.Wire()
			return &out, nil
		}
		if !errors.Is(err, store.ErrConflict) || rev > 0 || attempt == secretWriteAttempts {
			return nil, explainWrite(err, "secret", ref)
		}
	}
}

// secretUsers are the services of s's organization whose spec uses s
// (or, with previous, whose previous spec does: a rollback would run it
// again).
func (d *Domain) secretUsers(ctx context.Context, s *records.Secret, previous bool) ([]*api.Service, error) {
	all, _, err := store.ListAll[api.Service](ctx, d.st, store.KindServices)
	if err != nil {
		return nil, err
	}
	var out []*api.Service
	uses := func(refs []api.SecretRef) bool {
		return slices.ContainsFunc(refs, func(r api.SecretRef) bool { return r.Source == s.Name })
	}
	for _, svc := range all {
		if OrgName(svc.Org) != OrgName(s.Org) {
			continue
		}
		if uses(svc.Spec.Secrets) || previous && svc.PreviousSpec != nil && uses(svc.PreviousSpec.Secrets) {
			out = append(out, svc)
		}
	}
	return out, nil
}

// ListSecrets lists the organization's secrets' metadata, never a value.
// It refuses an actor without secrets Read.
func (d *Domain) ListSecrets(ctx context.Context, a Actor, p Page) (api.List[api.Secret], error) {
	if err := a.need(SecretsView); err != nil {
		return api.List[api.Secret]{Items: []api.Secret{}}, err
	}
	recs, err := listPage(ctx, d.st, store.KindSecrets, p, func(s *records.Secret) bool { return OrgName(s.Org) == OrgName(a.Org) })
	out := api.List[api.Secret]{Items: make([]api.Secret, 0, len(recs.Items)), Next: recs.Next}
	for i := range recs.Items {
		out.Items = append(out.Items, recs.Items[i].Wire())
	}
	return out, err
}

// GetSecret is a secret's metadata (by ID or name), never its value. It
// refuses an actor without secrets Read.
func (d *Domain) GetSecret(ctx context.Context, a Actor, ref string) (*api.Secret, error) {
	if err := a.need(SecretsView); err != nil {
		return nil, err
	}
	s, err := d.resolveSecret(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	out := s.Wire()
	return &out, nil
}

// RemoveSecret deletes a secret and its name. It refuses an actor without
// secrets Write, a stale revision (rev > 0), and a secret that a service
// uses, in its spec or in the previous spec a rollback would return to (a
// conflict naming the services: change or remove them first).
func (d *Domain) RemoveSecret(ctx context.Context, a Actor, ref string, rev int64) error {
	if err := a.need(SecretsAdmin); err != nil {
		return err
	}
	s, err := d.resolveSecret(ctx, a, ref)
	if err != nil {
		return err
	}
	noteObject(ctx, s.ID)
	if rev > 0 && s.Revision != rev {
		return staleErr("secret", ref, rev, s.Revision)
	}
	users, err := d.secretUsers(ctx, s, true)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		names := make([]string, len(users))
		for i, svc := range users {
			names[i] = svc.Name
		}
		slices.Sort(names)
		return newErr(errdefs.ErrConflict, "secret %q is used by service %s: remove it from their secrets first", s.Name, strings.Join(names, ", "))
	}
	t := d.st.Txn()
	t.Delete(store.KindSecrets, s.ID, s.Revision)
	t.Delete(store.KindNames, records.SecretNameKey(s.Org, s.Name), 0)
	t.Emit(secretEvent(s, "deleted", "deleted"))
	return explainWrite(t.Commit(ctx), "secret", ref)
}
