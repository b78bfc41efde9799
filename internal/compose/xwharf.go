package compose

import (
	"math"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// xWharf is the service extension that carries Docker Cloud's stackfile
// keys, which Compose has no place for.
const xWharf = "x-wharf"

var xWharfKeys = keys{
	"target_num_containers": nil,
	"deployment_strategy":   nil,
	"tags":                  nil,
	"autorestart":           nil,
	"autodestroy":           nil,
	"sequential_deployment": nil,
	"roles":                 nil,
	"driver":                nil,
	"stop_after_disconnect": nil,
	"healthcheck_http":      nil,
	"routes":                nil,
	"route_options":         nil,
	"publish_all":           nil,
}

// applyXWharf applies a service's x-wharf extension to svc. Keys Wharf does
// not know were already reported by checkKeys; wrong values are errors.
func (m *mapper) applyXWharf(svc *Service, ext any) {
	if ext == nil {
		return
	}
	base := "services." + svc.Name + "." + xWharf
	x, ok := ext.(map[string]any)
	if !ok {
		m.errorf(base, "must be a mapping")
		return
	}
	spec := &svc.Spec
	for _, k := range sortedKeys(x) {
		v, path := x[k], base+"."+k
		switch k {
		case "target_num_containers":
			if n, ok := toInt(v); ok && n >= 0 {
				spec.Replicas = n
			} else {
				m.errorf(path, "must be a number of containers, not %v", v)
			}
		case "deployment_strategy":
			if s, ok := oneOf(v, api.Strategies); ok {
				spec.Strategy = s
			} else {
				m.errorf(path, "must be one of %s", strings.Join(api.Strategies.Values, ", "))
			}
		case "tags":
			tags, ok := toStrings(v)
			if !ok {
				m.errorf(path, "must be a list of tags")
			}
			spec.Tags = tags
		case "autorestart":
			if s, ok := oneOf(v, api.AutorestartPolicies); ok {
				spec.Autorestart = s
			} else {
				m.errorf(path, "must be OFF, ON_FAILURE or ALWAYS")
			}
		case "autodestroy":
			if s, ok := oneOf(v, api.AutodestroyPolicies); ok {
				spec.Autodestroy = s
			} else {
				m.errorf(path, "must be OFF, ON_SUCCESS or ALWAYS")
			}
		case "sequential_deployment":
			if b, ok := v.(bool); ok {
				svc.Spec.Sequential = b
			} else {
				m.errorf(path, "must be true or false")
			}
		case "roles":
			m.w.at(path, "is not supported by Wharf yet; ignored")
		case "driver":
			if s, ok := oneOf(v, api.DriverNames); ok {
				spec.Driver = s
			} else {
				m.errorf(path, "must be one of %s", strings.Join(api.Drivers, ", "))
			}
		case "healthcheck_http":
			m.healthcheckHTTP(svc, path, v)
		case "routes":
			m.xWharfRoutes(svc, path, v)
		case "route_options":
			m.xWharfRouteOptions(svc, path, v)
		case "publish_all": // docker run -P, which compose has no key for
			if b, ok := v.(bool); ok {
				spec.PublishAll = b
			} else {
				m.errorf(path, "must be true or false")
			}
		case "stop_after_disconnect":
			if n, ok := toInt(v); ok && n >= 0 {
				spec.StopAfterDisconnect = n
			} else {
				m.errorf(path, "must be a number of seconds, not %v", v)
			}
		}
	}
}

// healthcheckHTTP makes the service's health check an HTTP GET of path
// (exec services have no container to run a test in); the compose
// healthcheck's timings still apply, its test is replaced.
func (m *mapper) healthcheckHTTP(svc *Service, path string, v any) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "/") {
		m.errorf(path, "must be a path starting with /, such as /healthz")
		return
	}
	h := svc.Spec.Healthcheck
	if h == nil {
		h = &api.Healthcheck{}
		svc.Spec.Healthcheck = h
	}
	if len(h.Command) > 0 {
		m.w.at("services."+svc.Name+".healthcheck.test", "is replaced by x-wharf healthcheck_http")
		h.Command = nil
	}
	h.HTTP = s
}

// oneOf is v's canonical spelling in e (any case, "-" or "_").
func oneOf(v any, e api.Enum) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	return e.Canonical(s)
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), true
		}
	case uint64:
		if n <= math.MaxInt32 {
			return int(n), true
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 {
			return int(n), true
		}
	}
	return 0, false
}

func toStrings(v any) ([]string, bool) {
	switch l := v.(type) {
	case string:
		return []string{l}, true
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
