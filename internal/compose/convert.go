package compose

import (
	"path"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// StackSpec is the stack as the server takes it (PUT /v1/stacks/{name}):
// every service with its complete spec, and the warnings as
// "file:line: message" lines, kept for `stack inspect`.
func (s *Stack) StackSpec() api.StackSpec {
	spec := api.StackSpec{Services: make([]api.StackService, 0, len(s.Services))}
	for _, svc := range s.Services {
		spec.Services = append(spec.Services, api.StackService{Name: svc.Name, Spec: svc.Spec})
	}
	for _, w := range s.Warnings {
		spec.Warnings = append(spec.Warnings, w.String())
	}
	return spec
}

// healthcheck maps a compose health check: test ["CMD", a, b] runs a b,
// ["CMD-SHELL", s] runs /bin/sh -c s, ["NONE"] and disable: true turn it
// off. Durations become Go duration strings.
func (m *mapper) healthcheck(path string, hc *types.HealthCheckConfig) *api.Healthcheck {
	if hc == nil || hc.Disable {
		return nil
	}
	h := &api.Healthcheck{}
	test := []string(hc.Test)
	switch {
	case len(test) == 0:
		// Only timings: the test comes from the image in Compose, which
		// Wharf cannot read; x-wharf healthcheck_http may still give one.
	case test[0] == "NONE":
		return nil
	case test[0] == "CMD" && len(test) > 1:
		h.Command = test[1:]
	case test[0] == "CMD-SHELL" && len(test) == 2:
		h.Command = []string{"/bin/sh", "-c", test[1]}
	default:
		m.errorf(path+".test", `must be ["CMD", program, args...], ["CMD-SHELL", "command"], a string (run by /bin/sh -c) or ["NONE"]`)
		return nil
	}
	dur := func(d *types.Duration) string {
		if d == nil {
			return ""
		}
		return goDuration(time.Duration(*d))
	}
	h.Interval, h.Timeout, h.StartPeriod = dur(hc.Interval), dur(hc.Timeout), dur(hc.StartPeriod)
	if hc.Retries != nil && *hc.Retries < 1<<31 {
		h.Retries = int(*hc.Retries)
	}
	return h
}

// finishHealthcheck drops a health check that has timings but no test
// (from the image, in Compose), saying so.
func (m *mapper) finishHealthcheck(svc *Service) {
	h := svc.Spec.Healthcheck
	if h != nil && len(h.Command) == 0 && h.HTTP == "" {
		m.w.at("services."+svc.Name+".healthcheck", "has no test (Wharf cannot read one from the image); add test, or x-wharf healthcheck_http; ignored")
		svc.Spec.Healthcheck = nil
	}
}

// goDuration is d as a Go duration string without zero units: "1m", not
// "1m0s"; "" for 0.
func goDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// updateConfig maps deploy.update_config to the service's update config.
func (m *mapper) updateConfig(path string, u *types.UpdateConfig) api.UpdateConfig {
	if u == nil {
		return api.UpdateConfig{}
	}
	out := api.UpdateConfig{
		Delay:           goDuration(time.Duration(u.Delay)),
		Monitor:         goDuration(time.Duration(u.Monitor)),
		MaxFailureRatio: f32(u.MaxFailureRatio),
	}
	if u.Parallelism != nil && *u.Parallelism < 1<<31 {
		out.Parallelism = int(*u.Parallelism)
	}
	out.Order = u.Order
	if !api.UpdateOrders.Normalize(&out.Order) {
		m.errorf(path+".order", "must be stop-first or start-first, not %q", u.Order)
	}
	action := u.FailureAction
	switch {
	case api.FailureActions.Normalize(&action):
		out.FailureAction = action
	case api.FoldEnum(action) == "continue":
		m.w.at(path+".failure_action", "continue is not supported by Wharf; a failed update rolls back")
	default:
		m.errorf(path+".failure_action", "must be rollback, pause or continue, not %q", u.FailureAction)
	}
	if out.MaxFailureRatio < 0 || out.MaxFailureRatio > 1 {
		m.errorf(path+".max_failure_ratio", "must be from 0 to 1, not %g", out.MaxFailureRatio)
	}
	return out
}

// rollbackConfig maps deploy.rollback_config: how a failed update is
// rolled back. A rollback never pauses or rolls back again, so its
// failure_action and max_failure_ratio are warned about and dropped.
func (m *mapper) rollbackConfig(path string, u *types.UpdateConfig) *api.UpdateConfig {
	if u.FailureAction != "" {
		m.w.at(path+".failure_action", "is not used by Wharf: a rollback always goes on to the end; ignored")
	}
	if u.MaxFailureRatio != 0 {
		m.w.at(path+".max_failure_ratio", "is not used by Wharf: a rollback always goes on to the end; ignored")
	}
	cp := *u
	cp.FailureAction, cp.MaxFailureRatio = "", 0
	out := m.updateConfig(path, &cp)
	return &out
}

// dependsOn maps depends_on, sorted by service, with Compose's default
// condition (service_started) written out.
func dependsOn(deps types.DependsOnConfig) []api.Dependency {
	var out []api.Dependency
	for _, name := range sortedKeys(deps) {
		cond := deps[name].Condition
		if cond == "" {
			cond = api.ConditionStarted
		}
		out = append(out, api.Dependency{Service: name, Condition: cond})
	}
	return out
}

// volumes maps named volumes (their compose name is the source; the
// controller makes one per slot) and bind mounts (absolute host paths).
// Anonymous volumes and other types are reported and skipped.
func (m *mapper) volumes(svc *Service, vols []types.ServiceVolumeConfig) {
	p := "services." + svc.Name + ".volumes"
	for _, v := range vols {
		switch {
		case v.Type != types.VolumeTypeVolume && v.Type != types.VolumeTypeBind:
			m.w.in(p, v.Target, "type "+v.Type+" is not supported by Wharf; ignored")
			continue
		case v.Source == "" && v.Type == types.VolumeTypeVolume:
			m.w.in(p, v.Target, "anonymous volume "+v.Target+" is not supported by Wharf: name it (NAME:"+v.Target+"); ignored")
			continue
		case m.untrusted && v.Type == types.VolumeTypeBind && !path.IsAbs(v.Source):
			entry, _ := m.w.ix.find(p, v.Source)
			m.errorf(entry, "bind mount %q: a relative host path is refused in a compose file sent to the server (it would name a directory of the server): write an absolute path on the node, or deploy with `wharf stack deploy` from a machine with the files", v.Source)
			continue
		}
		svc.Spec.Volumes = append(svc.Spec.Volumes, api.VolumeMount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
	}
}
