package domain

import (
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// Swarm classic's prefixes of scheduling rules, in environment variables
// (docker run -e constraint:storage==ssd) and, for the first two, in
// expressions.
const (
	swarmConstraint = "constraint:"
	swarmAffinity   = "affinity:"
	swarmReschedule = "reschedule:"
)

// swarmRules turns Swarm classic's habits into Wharf's rules, as Swarm
// classic read them, whatever the front door (CLI -e, compose
// environment:, the REST API):
//   - an environment variable "constraint:EXPR" or "affinity:EXPR" is not
//     set in the container: it becomes a constraint or an affinity (the
//     CLI and compose split "constraint:storage==ssd" at its first "=",
//     into the name "constraint:storage" and the value "=ssd");
//   - "reschedule:on-node-failure" is what Wharf always does and is
//     dropped; "reschedule:off" is refused;
//   - the prefix of a constraint "constraint:EXPR" or an affinity
//     "affinity:EXPR" is dropped.
//
// Prefixes are matched in any case.
func swarmRules(spec *api.ServiceSpec) error {
	for i, c := range spec.Constraints {
		spec.Constraints[i] = cutPrefixFold(c, swarmConstraint)
	}
	for i, a := range spec.Affinities {
		spec.Affinities[i] = cutPrefixFold(a, swarmAffinity)
	}
	var names []string
	for k := range spec.Env {
		if hasPrefixFold(k, swarmConstraint) || hasPrefixFold(k, swarmAffinity) || hasPrefixFold(k, swarmReschedule) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	env := make(map[string]string, len(spec.Env))
	for k, v := range spec.Env {
		env[k] = v
	}
	for _, k := range names {
		field := "spec.env." + k
		rule := k
		if v := env[k]; v != "" {
			rule += "=" + v
		}
		delete(env, k)
		switch {
		case hasPrefixFold(k, swarmConstraint):
			expr := rule[len(swarmConstraint):]
			if _, err := scheduler.ParseConstraint(expr); err != nil {
				return errdefs.Invalid(field, "Swarm classic's %q is a constraint, and %s", rule, err.Error())
			}
			if !slices.Contains(spec.Constraints, expr) {
				spec.Constraints = append(spec.Constraints, expr)
			}
		case hasPrefixFold(k, swarmAffinity):
			expr := rule[len(swarmAffinity):]
			if _, err := scheduler.ParseAffinity(expr); err != nil {
				return errdefs.Invalid(field, "Swarm classic's %q is an affinity, and %s", rule, err.Error())
			}
			if !slices.Contains(spec.Affinities, expr) {
				spec.Affinities = append(spec.Affinities, expr)
			}
		default:
			policy := strings.TrimLeft(rule[len(swarmReschedule):], "=")
			if api.FoldEnum(policy) != "on-node-failure" {
				return errdefs.Invalid(field, "Swarm classic's %q: Wharf always moves the containers of a lost node (after the node-loss grace); only reschedule:on-node-failure is accepted", rule)
			}
		}
	}
	if len(env) == 0 {
		env = nil
	}
	spec.Env = env
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func cutPrefixFold(s, prefix string) string {
	if hasPrefixFold(s, prefix) {
		return s[len(prefix):]
	}
	return s
}
