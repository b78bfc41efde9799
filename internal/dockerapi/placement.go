package dockerapi

// Swarm classic's placement, as docker run carried it: environment
// entries "constraint:node==n1", "affinity:container==edge" and
// "reschedule:on-node-failure", or the labels com.docker.swarm.constraints,
// com.docker.swarm.affinities and com.docker.swarm.reschedule-policies
// (JSON lists). They become the service's Constraints, Affinities and
// Reschedule, checked by the scheduler's own parsers, and leave the
// container's environment and labels.

import (
	"encoding/json"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// The labels Swarm classic kept placement in.
const (
	labelConstraints = "com.docker.swarm.constraints"
	labelAffinities  = "com.docker.swarm.affinities"
	labelReschedule  = "com.docker.swarm.reschedule-policies"
)

// swarmFacts renames Swarm classic's standard constraint keys to the node
// facts Wharf's scheduler knows.
var swarmFacts = map[string]string{
	"operatingsystem": "node.os",
	"kernelversion":   "node.kernel",
}

// placement collects what a create request says about placement.
type placement struct {
	constraints []string
	affinities  []string
	reschedule  string
}

// takeEnv moves a placement entry of the environment into p; it reports
// whether e was one.
func (p *placement) takeEnv(e string) (bool, error) {
	kind, expr, ok := strings.Cut(e, ":")
	if !ok || strings.Contains(kind, "=") {
		return false, nil
	}
	switch kind {
	case "constraint":
		return true, p.addConstraint(expr, "-e "+e)
	case "affinity":
		return true, p.addAffinity(expr, "-e "+e)
	case "reschedule":
		return true, p.setReschedule(expr, "-e "+e)
	}
	return false, nil
}

// takeLabels moves the placement labels of labels into p, deleting them.
func (p *placement) takeLabels(labels map[string]string) error {
	lists := []struct {
		key string
		add func(string, string) error
	}{{labelConstraints, p.addConstraint}, {labelAffinities, p.addAffinity}, {labelReschedule, p.setReschedule}}
	for _, l := range lists {
		v, ok := labels[l.key]
		if !ok {
			continue
		}
		delete(labels, l.key)
		var items []string
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			return errdefs.Invalid("label "+l.key, "must be a JSON list of strings, e.g. [\"node==node-1\"]: %v", err)
		}
		for _, it := range items {
			if err := l.add(it, "label "+l.key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *placement) addConstraint(expr, where string) error {
	e, err := scheduler.ParseExpression(expr)
	if err == nil {
		if fact, ok := swarmFacts[e.Key]; ok {
			expr = fact + expr[len(e.Key):]
		}
		_, err = scheduler.ParseConstraint(expr)
	}
	if err != nil {
		return errdefs.Invalid(where, "%v", err)
	}
	p.constraints = append(p.constraints, expr)
	return nil
}

func (p *placement) addAffinity(expr, where string) error {
	if _, err := scheduler.ParseAffinity(expr); err != nil {
		return errdefs.Invalid(where, "%v", err)
	}
	p.affinities = append(p.affinities, expr)
	return nil
}

func (p *placement) setReschedule(policy, where string) error {
	switch policy {
	case api.RescheduleOnNodeFailure, api.RescheduleOff:
		p.reschedule = policy
		return nil
	}
	return errdefs.Invalid(where, "unknown reschedule policy %q: want %s or %s", policy, api.RescheduleOnNodeFailure, api.RescheduleOff)
}

// apply puts p into spec.
func (p *placement) apply(spec *api.ServiceSpec) {
	spec.Constraints = append(spec.Constraints, p.constraints...)
	spec.Affinities = append(spec.Affinities, p.affinities...)
	if p.reschedule != "" {
		spec.Reschedule = p.reschedule
	}
}
