package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

var (
	// secretNameRE is a secret's name: Docker's, so that compose files'
	// names ("db_password") and a stack's ("<stack>_<name>") fit.
	secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	// secretTargetRE is the name of a secret's file: one path element,
	// never "." or "..", so it cannot leave the secrets directory.
	secretTargetRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// maxSecretRefs bounds a service's secrets.
const maxSecretRefs = 64

func validateSecretName(name string) error {
	if !secretNameRE.MatchString(name) {
		return errdefs.Invalid("name", "secret name %q must match %s", name, secretNameRE)
	}
	return nil
}

func validateSecretData(data []byte) error {
	switch {
	case len(data) == 0:
		return errdefs.Invalid("data", "a secret's value must not be empty")
	case len(data) > api.MaxSecretSize:
		return errdefs.Invalid("data", "a secret's value must be at most %d bytes (500 KiB), got %d", api.MaxSecretSize, len(data))
	}
	return nil
}

// ValidateSecretRefs checks a service spec's secrets as a user sent them:
// known-good names, file names that stay in the secrets directory (no "/",
// never "." or ".."), one secret per file, and a mode of permission bits
// only (no setuid, setgid or sticky bit). It does not look whether the
// secrets exist: see Domain.CheckSecretRefs.
func ValidateSecretRefs(refs []api.SecretRef) error {
	if len(refs) > maxSecretRefs {
		return errdefs.Invalid("spec.secrets", "at most %d secrets per service, got %d", maxSecretRefs, len(refs))
	}
	targets := map[string]int{}
	for i, ref := range refs {
		field := "spec.secrets[" + strconv.Itoa(i) + "]"
		if !secretNameRE.MatchString(ref.Source) {
			return errdefs.Invalid(field+".source", "secret name %q must match %s", ref.Source, secretNameRE)
		}
		t := ref.FileName()
		if !secretTargetRE.MatchString(t) {
			return errdefs.Invalid(field+".target", "%q must be a file name matching %s: no \"/\", not \".\" or \"..\"", t, secretTargetRE)
		}
		if j, dup := targets[t]; dup {
			return errdefs.Invalid(field+".target", "file %q is already spec.secrets[%d]'s: give one of them another target", t, j)
		}
		targets[t] = i
		if ref.Mode&^0o777 != 0 {
			return errdefs.Invalid(field+".mode", "must be permission bits only (at most 0777), got %#o", ref.Mode)
		}
	}
	return nil
}

// CheckSecretRefs reports an invalid error naming the first secret that
// spec refers to and that does not exist in the actor's organization.
// Service create and update and stack deploys call it after validation.
func (d *Domain) CheckSecretRefs(ctx context.Context, a Actor, spec *api.ServiceSpec, field string) error {
	for i, ref := range spec.Secrets {
		_, err := byName[records.Secret](ctx, d.st, store.KindSecrets, records.SecretNameKey(OrgName(a.Org), ref.Source))
		if errors.Is(err, store.ErrNotFound) {
			return errdefs.Invalid(fmt.Sprintf("%s.secrets[%d].source", field, i), "secret %q does not exist: create it first (wharf secret create %s -f FILE)", ref.Source, ref.Source)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
