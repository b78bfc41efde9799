package domain

import "github.com/wharfhq/wharf/api"

// normalizeEnums rewrites every enumeration of spec in its canonical
// spelling (api.Enum: any case, "-" or "_"), so that every front door (the
// CLI, the REST API, compose) accepts the same words and Wharf stores and
// prints one. Unknown values are left as they are for the checks that
// follow to refuse them by field.
func normalizeEnums(spec *api.ServiceSpec) {
	api.Strategies.Normalize(&spec.Strategy)
	api.AutorestartPolicies.Normalize(&spec.Autorestart)
	api.AutodestroyPolicies.Normalize(&spec.Autodestroy)
	api.DriverNames.Normalize(&spec.Driver)
	for _, u := range []*api.UpdateConfig{&spec.Update, spec.Rollback} {
		if u != nil {
			api.UpdateOrders.Normalize(&u.Order)
			api.FailureActions.Normalize(&u.FailureAction)
		}
	}
	for i := range spec.Ports {
		api.Protocols.Normalize(&spec.Ports[i].Protocol)
		if m := api.FoldEnum(spec.Ports[i].Mode); m == api.PortModeHost || m == api.PortModeIngress {
			spec.Ports[i].Mode = m
		}
	}
	for i := range spec.Expose {
		api.Protocols.Normalize(&spec.Expose[i].Protocol)
	}
	if m := api.FoldEnum(spec.NetworkMode); m == networkBridge || m == networkHost || m == networkNone {
		spec.NetworkMode = m
	}
	for i := range spec.DependsOn {
		api.DependencyConditions.Normalize(&spec.DependsOn[i].Condition)
	}
}
