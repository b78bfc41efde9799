package domain

import (
	"slices"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// dependencyConditions are the valid Dependency.Condition values, in the
// order error messages list them.
var dependencyConditions = []string{api.ConditionStarted, api.ConditionHealthy, api.ConditionCompleted}

// validateDependsOn checks spec.DependsOn: each entry names a service (a
// full service name, matching serviceNameRE) once, with an explicit
// condition. self is the name of the service the spec belongs to, or ""
// when it is not known yet; a service may not depend on itself.
// Whether the dependency exists is not checked: it may be created later,
// and the controller waits for it.
func validateDependsOn(spec *api.ServiceSpec, self string) error {
	if n := len(spec.DependsOn); n > api.MaxStackServices {
		return errdefs.Invalid("spec.depends_on", "at most %d dependencies, got %d", api.MaxStackServices, n)
	}
	seen := make(map[string]int, len(spec.DependsOn))
	for i, d := range spec.DependsOn {
		field := "spec.depends_on[" + strconv.Itoa(i) + "]"
		if !serviceNameRE.MatchString(d.Service) {
			return errdefs.Invalid(field+".service", "service name %q must match %s", d.Service, serviceNameRE)
		}
		if self != "" && d.Service == self {
			return errdefs.Invalid(field+".service", "service %q cannot depend on itself", self)
		}
		if j, dup := seen[d.Service]; dup {
			return errdefs.Invalid(field+".service", "service %q is already listed in spec.depends_on[%d]: list each dependency once", d.Service, j)
		}
		seen[d.Service] = i
		if !slices.Contains(dependencyConditions, d.Condition) {
			return errdefs.Invalid(field+".condition", "condition %q: set one of %s, %s or %s", d.Condition, dependencyConditions[0], dependencyConditions[1], dependencyConditions[2])
		}
	}
	return nil
}
