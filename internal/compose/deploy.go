package compose

import (
	"math"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// deploy maps the deploy section: mode, replicas, placement, resources,
// update and rollback configs and the restart policy.
func (m *mapper) deploy(svc *Service, d *types.DeployConfig) {
	if d == nil {
		return
	}
	p := "services." + svc.Name + ".deploy"
	spec := &svc.Spec
	switch api.FoldEnum(d.Mode) {
	case "", "replicated":
	case "global":
		spec.Strategy = api.StrategyEveryNode
	case "replicated-job", "global-job":
		m.w.at(p+".mode", "mode "+d.Mode+" is not supported by Wharf; run as a service")
		if api.FoldEnum(d.Mode) == "global-job" {
			spec.Strategy = api.StrategyEveryNode
		}
	default:
		m.errorf(p+".mode", "unknown mode %q", d.Mode)
	}
	for _, c := range d.Placement.Constraints {
		if wc, msg := constraint(c); msg != "" {
			m.w.in(p+".placement.constraints", c, msg)
		} else {
			spec.Constraints = append(spec.Constraints, wc)
		}
	}
	spec.Resources = m.resources(p+".resources.limits", d.Resources.Limits)
	spec.Reservations = m.resources(p+".resources.reservations", d.Resources.Reservations)
	svc.Spec.Update = m.updateConfig(p+".update_config", d.UpdateConfig)
	if rc := d.RollbackConfig; rc != nil {
		svc.Spec.Rollback = m.rollbackConfig(p+".rollback_config", rc)
	}
	if rp := d.RestartPolicy; rp != nil && rp.Condition != "" {
		var policy string
		switch api.FoldEnum(rp.Condition) {
		case "none", "no":
			policy = api.PolicyOff
		case "on-failure":
			policy = api.PolicyOnFailure
		case "any":
			policy = api.PolicyAlways
		default:
			m.errorf(p+".restart_policy.condition", "unknown condition %q", rp.Condition)
			return
		}
		if spec.Autorestart != "" && spec.Autorestart != policy {
			m.w.at(p+".restart_policy.condition", "overrides restart ("+spec.Autorestart+" becomes "+policy+")")
		}
		spec.Autorestart = policy
	}
}

// swarmKeys are the Swarm mode constraint keys Wharf has a fact for.
var swarmKeys = map[string]string{
	"node.id":            "node.id",
	"node.hostname":      "node.name",
	"node.platform.os":   "node.os",
	"node.platform.arch": "node.arch",
}

// constraint rewrites a Swarm mode constraint ("node.labels.zone ==
// external") in Wharf's syntax ("node.labels.zone==external"), or says why
// it cannot.
func constraint(c string) (string, string) {
	op := "=="
	i := strings.Index(c, "==")
	if j := strings.Index(c, "!="); j >= 0 && (i < 0 || j < i) {
		i, op = j, "!="
	}
	if i < 0 {
		return "", "constraint " + strconv.Quote(c) + " is not key==value or key!=value; ignored"
	}
	key, value := strings.TrimSpace(c[:i]), strings.TrimSpace(c[i+2:])
	if key == "" || value == "" || strings.ContainsAny(value, "=!") {
		return "", "constraint " + strconv.Quote(c) + " is not key==value or key!=value; ignored"
	}
	if label, ok := strings.CutPrefix(key, "node.labels."); ok && label != "" {
		return "node.labels." + label + op + value, ""
	}
	if k, ok := swarmKeys[key]; ok {
		return k + op + value, ""
	}
	return "", "constraint " + strconv.Quote(c) + ": Wharf has no fact " + key + "; ignored"
}

func (m *mapper) resources(path string, r *types.Resource) api.Resources {
	if r == nil {
		return api.Resources{}
	}
	var out api.Resources
	if r.MemoryBytes < 0 {
		m.errorf(path+".memory", "must not be negative")
	} else {
		out.MemoryBytes = int64(r.MemoryBytes)
	}
	// cpus is a float32 in compose-go: go through its shortest decimal
	// form so that 0.1 is 100000000 nano CPUs, not 100000001.
	cpus := f32(float32(r.NanoCPUs))
	switch n := math.Round(cpus * 1e9); {
	case n < 0 || n > math.MaxInt64/2 || math.IsNaN(n):
		m.errorf(path+".cpus", "out of range")
	default:
		out.NanoCPUs = int64(n)
	}
	return out
}

// f32 widens f through its shortest decimal form.
func f32(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}
