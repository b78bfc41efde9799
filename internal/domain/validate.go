package domain

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

var (
	// serviceNameRE is a service name: it names containers "<name>-<slot>"
	// and DNS-like places, so it is lower case.
	serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
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

// tokenNameRE is an API token's name.
var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)

// validateLabels checks node labels: keys matching labelKeyRE, values
// of at most 255 printable characters.
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

// validateSpec checks a service spec as a user sent it, after writing its
// enumerations in their canonical spelling (normalizeEnums).
func validateSpec(spec *api.ServiceSpec) error {
	normalizeEnums(spec)
	if err := swarmRules(spec); err != nil {
		return err
	}
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
	if spec.PullPolicy != "" && !slices.Contains(api.PullPolicies, spec.PullPolicy) {
		return errdefs.Invalid("spec.pull_policy", "unknown pull policy %q: want one of %s", spec.PullPolicy, strings.Join(api.PullPolicies, ", "))
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
		if strings.Contains(tag, "==") || strings.Contains(tag, "!=") {
			return errdefs.Invalid(field, "tag %q is an expression: use a constraint (--constraint %q, spec.constraints); a tag is \"key=value\" or \"key\"", tag, tag)
		}
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
	if err := ValidateSecretRefs(spec.Secrets); err != nil {
		return err
	}
	if err := validateRoutes(spec); err != nil {
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
