package apiserver

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

var (
	// serviceNameRE is a service name: it names containers "<name>-<slot>"
	// and DNS-like places, so it is lower case.
	serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// tokenNameRE is an API token's name.
	tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)
	// labelKeyRE is a node label key, and the key part of a service tag.
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$`)
)

const maxValueLen = 255

func validateLabelValue(field, v string) error {
	if len(v) > maxValueLen || !printable(v) {
		return errdefs.Invalid(field, "value must be at most %d printable characters", maxValueLen)
	}
	return nil
}

// validateLabels checks node labels.
func validateLabels(labels map[string]string) error {
	for k, v := range labels {
		field := "labels." + k
		if !labelKeyRE.MatchString(k) {
			return errdefs.Invalid(field, "label key %q must match %s", k, labelKeyRE)
		}
		if err := validateLabelValue(field, v); err != nil {
			return err
		}
	}
	return nil
}

// validateSpec checks a service spec as a user sent it.
func validateSpec(spec *api.ServiceSpec) error {
	if spec.Replicas < 0 || spec.Replicas > 10000 {
		return errdefs.Invalid("spec.replicas", "must be from 0 to 10000, got %d", spec.Replicas)
	}
	if spec.Image == "" && len(spec.Command) == 0 {
		return errdefs.Invalid("spec.command", "set spec.command (run with the exec driver) or spec.image (docker driver)")
	}
	if err := validateDockerFields(spec); err != nil {
		return err
	}
	if spec.Driver != "" && !slices.Contains(api.Drivers, spec.Driver) {
		return errdefs.Invalid("spec.driver", "unknown driver %q: want one of %s", spec.Driver, strings.Join(api.Drivers, ", "))
	}
	if spec.Driver == "exec" && spec.Image != "" {
		return errdefs.Invalid("spec.driver", "the exec driver runs commands, not images: drop spec.image or pick the docker driver")
	}
	if spec.Image != "" && (len(spec.Image) > maxValueLen || strings.ContainsFunc(spec.Image, unicode.IsSpace) || !printable(spec.Image)) {
		return errdefs.Invalid("spec.image", "must be an image reference without spaces, at most %d characters", maxValueLen)
	}
	if err := validateArgs("spec.command", spec.Command, spec.Image == ""); err != nil {
		return err
	}
	if err := validateArgs("spec.entrypoint", spec.Entrypoint, true); err != nil {
		return err
	}
	if err := validateText(spec); err != nil {
		return err
	}
	for k, v := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return errdefs.Invalid("spec.env."+k, "environment names must be non-empty without '=' or NUL, values without NUL")
		}
	}
	for i, tag := range spec.Tags {
		field := "spec.tags[" + strconv.Itoa(i) + "]"
		k, v, _ := strings.Cut(tag, "=")
		if !labelKeyRE.MatchString(k) {
			return errdefs.Invalid(field, "tag %q must be \"key=value\" or \"key\", the key matching %s", tag, labelKeyRE)
		}
		if err := validateLabelValue(field, v); err != nil {
			return err
		}
	}
	if err := validateVolumesAndLabels(spec); err != nil {
		return err
	}
	if err := domain.ValidateSecretRefs(spec.Secrets); err != nil {
		return err
	}
	if err := validateRollout(spec); err != nil {
		return err
	}
	if err := validateDependsOn(spec, ""); err != nil {
		return err
	}
	return validatePlacement(spec)
}

// ifMatch reads the If-Match header: the revision a write must find, or 0.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev <= 0 {
		return 0, errdefs.Invalid("If-Match", "must be an object revision (a positive integer), got %q", r.Header.Get("If-Match"))
	}
	return rev, nil
}

// ifMatchOr is the If-Match revision, else the body's "revision" (0: none).
func ifMatchOr(r *http.Request, body int64) (int64, error) {
	rev, err := ifMatch(r)
	if rev == 0 && err == nil {
		rev = body
	}
	return rev, err
}

// staleErr says a client's revision is out of date.
func staleErr(kind, ref string, want, have int64) error {
	return newErr(errdefs.ErrConflict, "%s %q is at revision %d, not %d: it changed since you read it; read it again and retry", kind, ref, have, want)
}
