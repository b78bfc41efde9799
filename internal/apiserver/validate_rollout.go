package apiserver

import (
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

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
		if h.HTTP != "" && len(spec.Ports) == 0 && spec.DriverName() == "docker" {
			return errdefs.Invalid("spec.healthcheck.http", "an HTTP health check needs a published port: add spec.ports")
		}
		if _, _, _, err := h.Durations(); err != nil {
			return errdefs.Invalid("spec.healthcheck", "%v", err)
		}
		if h.Retries < 0 {
			return errdefs.Invalid("spec.healthcheck.retries", "must be 0 (default 3) or more, got %d", h.Retries)
		}
	}
	u := spec.Update
	if _, _, _, err := u.Settings(); err != nil {
		return errdefs.Invalid("spec.update", "%v", err)
	}
	switch {
	case u.Parallelism < 0:
		return errdefs.Invalid("spec.update.parallelism", "must be 0 (default 1) or more, got %d", u.Parallelism)
	case u.Order != "" && u.Order != api.OrderStopFirst && u.Order != api.OrderStartFirst:
		return errdefs.Invalid("spec.update.order", "must be %s or %s, got %q", api.OrderStopFirst, api.OrderStartFirst, u.Order)
	case u.FailureAction != "" && u.FailureAction != api.FailurePause && u.FailureAction != api.FailureRollback:
		return errdefs.Invalid("spec.update.failure_action", "must be %s or %s, got %q", api.FailureRollback, api.FailurePause, u.FailureAction)
	case u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1:
		return errdefs.Invalid("spec.update.max_failure_ratio", "must be from 0 to 1, got %g", u.MaxFailureRatio)
	}
	for i, l := range spec.Links {
		target, alias, _ := strings.Cut(l, ":")
		if !serviceNameRE.MatchString(target) || (alias != "" && !serviceNameRE.MatchString(alias)) {
			return errdefs.Invalid("spec.links["+strconv.Itoa(i)+"]", "link %q must be \"service\" or \"service:alias\", names matching %s", l, serviceNameRE)
		}
	}
	return nil
}
