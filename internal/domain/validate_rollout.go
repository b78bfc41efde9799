package domain

import (
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// validateUpdateConfig checks an update (or rollback) config at field.
func validateUpdateConfig(field string, u api.UpdateConfig) error {
	if _, _, _, err := u.Settings(); err != nil {
		return errdefs.Invalid(field, "%v", err)
	}
	switch {
	case u.Parallelism < 0:
		return errdefs.Invalid(field+".parallelism", "must be 0 (default 1) or more, got %d", u.Parallelism)
	case u.Order != "" && u.Order != api.OrderStopFirst && u.Order != api.OrderStartFirst:
		return errdefs.Invalid(field+".order", "must be %s or %s, got %q", api.OrderStopFirst, api.OrderStartFirst, u.Order)
	case u.FailureAction != "" && u.FailureAction != api.FailurePause && u.FailureAction != api.FailureRollback:
		return errdefs.Invalid(field+".failure_action", "must be %s or %s, got %q", api.FailureRollback, api.FailurePause, u.FailureAction)
	case u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1:
		return errdefs.Invalid(field+".max_failure_ratio", "must be from 0 to 1, got %g", u.MaxFailureRatio)
	}
	return nil
}

// validateRollout checks the health check, update config and links of a
// spec.
func validateRollout(spec *api.ServiceSpec) error {
	if h := spec.Healthcheck; h != nil {
		if (len(h.Command) == 0) == (h.HTTP == "") {
			return errdefs.Invalid("spec.healthcheck", "set exactly one of healthcheck.command (run in the container) or healthcheck.http (a path such as /healthz)")
		}
		if h.HTTP != "" && !strings.HasPrefix(h.HTTP, "/") {
			return errdefs.Invalid("spec.healthcheck.http", "must be a path starting with /, got %q", h.HTTP)
		}
		// exec and fake workloads get their port in $PORT, checked as is.
		if h.HTTP != "" && api.FoldEnum(spec.NetworkMode) == "none" {
			return errdefs.Invalid("spec.healthcheck.http", "network mode none leaves the container no network to check it over: use a command health check (healthcheck.command)")
		}
		if h.HTTP != "" && spec.DriverName() == "docker" && !hasHostPort(spec.Ports) {
			if m := api.FoldEnum(spec.NetworkMode); m == "host" || m == "none" {
				return errdefs.Invalid("spec.healthcheck.http", "an HTTP health check needs a published port, and network mode %s publishes none: use a command health check (healthcheck.command)", m)
			}
			return errdefs.Invalid("spec.healthcheck.http", "an HTTP health check needs a port published on the node (host mode; an ingress port is on the routers only): add one to spec.ports")
		}
		if _, _, _, err := h.Durations(); err != nil {
			return errdefs.Invalid("spec.healthcheck", "%v", err)
		}
		if h.Retries < 0 {
			return errdefs.Invalid("spec.healthcheck.retries", "must be 0 (default 3) or more, got %d", h.Retries)
		}
	}
	if err := validateUpdateConfig("spec.update", spec.Update); err != nil {
		return err
	}
	if r := spec.Rollback; r != nil {
		if err := validateUpdateConfig("spec.rollback", *r); err != nil {
			return err
		}
		if r.FailureAction != "" || r.MaxFailureRatio != 0 {
			return errdefs.Invalid("spec.rollback", "a rollback never pauses or rolls back again: leave failure_action and max_failure_ratio unset")
		}
	}
	for i, l := range spec.Links {
		target, alias, _ := strings.Cut(l, ":")
		if !serviceNameRE.MatchString(target) || (alias != "" && !serviceNameRE.MatchString(alias)) {
			return errdefs.Invalid("spec.links["+strconv.Itoa(i)+"]", "link %q must be \"service\" or \"service:alias\", names matching %s", l, serviceNameRE)
		}
	}
	return nil
}

// hasHostPort reports whether ports publish one on the container's node
// (host mode), where an HTTP health check connects.
func hasHostPort(ports []api.PortSpec) bool {
	for _, p := range ports {
		if api.FoldEnum(p.Mode) != api.PortModeIngress {
			return true
		}
	}
	return false
}
