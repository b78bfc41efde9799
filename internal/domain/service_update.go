package domain

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/routing"
	"github.com/wharfhq/wharf/internal/store"
)

// UpdateService applies patch, a JSON object of spec fields, to the
// service ref names: the fields present replace the service's (env, ports
// and other lists and maps whole); "running" cannot be set here. A change
// to anything but replicas and the update config starts a rollout: the
// old spec is kept as PreviousSpec and the generation raised, and the
// controller replaces the containers per spec.update. rev > 0 is the
// revision the service must be at. It refuses an actor without Apps
// Write, a patch that is not a JSON object or makes a bad spec, and a
// service being removed (a conflict). A patch that changes nothing writes
// nothing.
func (d *Domain) UpdateService(ctx context.Context, a Actor, ref string, patch json.RawMessage, rev int64) (*api.Service, error) {
	if err := a.need(AppsDeploy); err != nil {
		return nil, err
	}
	present, err := servicePatchFields(patch)
	if err != nil {
		return nil, err
	}
	unlock, quotas, err := d.quotaGuard(ctx, a)
	if err != nil {
		return nil, err
	}
	defer unlock()
	pn := d.newPinner(a)
	return d.modifyService(ctx, a, ref, rev, func(svc *api.Service) ([]api.Event, error) {
		if svc.Terminating {
			return nil, terminatingErr(svc)
		}
		next, err := patchSpec(svc.Spec, patch, present)
		if err != nil {
			return nil, err
		}
		if err := validateSpec(&next); err != nil {
			return nil, err
		}
		if err := validateDependsOn(&next, svc.Name); err != nil {
			return nil, err
		}
		if err := d.CheckSecretRefs(ctx, a, &next, "spec"); err != nil {
			return nil, err
		}
		// Only the networks the patch adds: one the service joins already
		// cannot have been removed since.
		if err := d.CheckNetworkRefs(ctx, a, &next, "spec", svc.Spec.Networks); err != nil {
			return nil, err
		}
		if reflect.DeepEqual(next, svc.Spec) {
			return nil, store.ErrNoChange
		}
		if err := d.checkContainerQuota(ctx, a, quotas, map[string]int{svc.ID: containersOf(&next)}); err != nil {
			return nil, err
		}
		ev := setSpec(svc, next, "")
		// A new image or pull policy is resolved anew (pin.go); the
		// update is refused, writing nothing, when that fails.
		if err := pn.refresh(ctx, svc); err != nil {
			return nil, err
		}
		return []api.Event{ev}, nil
	})
}

// ValidateServicePatch checks that patch is what UpdateService takes: a
// JSON object of spec fields, without "running" (UpdateService checks it
// too; a front door may check it first to report it before its own
// errors).
func ValidateServicePatch(patch json.RawMessage) error {
	_, err := servicePatchFields(patch)
	return err
}

// servicePatchFields checks patch and returns its fields by name.
func servicePatchFields(patch json.RawMessage) (map[string]json.RawMessage, error) {
	if len(patch) == 0 || bytes.Equal(patch, []byte("null")) {
		return nil, errdefs.Invalid("spec", "required: the spec fields to change, e.g. {\"spec\":{\"image\":\"nginx:1.27\"}}")
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(patch, &present); err != nil {
		return nil, errdefs.Invalid("spec", "must be a JSON object: %v", err)
	}
	if _, ok := present["running"]; ok {
		return nil, errdefs.Invalid("spec.running", "use POST /v1/services/{id}/start or /stop to start or stop a service")
	}
	return present, nil
}

// patchSpec applies the fields of raw (present names them) to spec.
func patchSpec(spec api.ServiceSpec, raw json.RawMessage, present map[string]json.RawMessage) (api.ServiceSpec, error) {
	next := spec
	// A map or object named in the patch is replaced, not merged (lists
	// always are).
	if _, ok := present["env"]; ok {
		next.Env = nil
	}
	if _, ok := present["labels"]; ok {
		next.Labels = nil
	}
	if _, ok := present["resources"]; ok {
		next.Resources = api.Resources{}
	}
	if _, ok := present["reservations"]; ok {
		next.Reservations = api.Resources{}
	}
	if _, ok := present["healthcheck"]; ok {
		next.Healthcheck = nil
	}
	if _, ok := present["update"]; ok {
		next.Update = api.UpdateConfig{}
	}
	if _, ok := present["route_options"]; ok {
		next.RouteOptions = api.RouteOptions{}
	}
	if _, ok := present["rollback"]; ok {
		next.Rollback = nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return spec, errdefs.Invalid("spec", "cannot apply the patch: %v", err)
	}
	return next, nil
}

// needsRollout: the containers must change, not only their number, the
// way they are replaced or what their starts wait for (depends_on). Routes
// change the containers only through the ports they publish and the drain
// time: a new host, path or route option reaches the routers without
// replacing a container.
func needsRollout(a, b api.ServiceSpec) bool {
	if !slices.Equal(routing.RoutedPorts(a), routing.RoutedPorts(b)) || routing.DrainMS(a) != routing.DrainMS(b) {
		return true
	}
	a.Routes, b.Routes = nil, nil
	a.RouteOptions, b.RouteOptions = api.RouteOptions{}, api.RouteOptions{}
	a.Replicas, b.Replicas = 0, 0
	a.DependsOn, b.DependsOn = nil, nil
	a.Update, b.Update = api.UpdateConfig{}, api.UpdateConfig{}
	a.Rollback, b.Rollback = nil, nil
	a.Sequential, b.Sequential = false, false
	a.Reschedule, b.Reschedule = "", ""
	return !reflect.DeepEqual(a, b)
}
