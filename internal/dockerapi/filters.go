package dockerapi

// docker ps's filters: the JSON of ?filters= in both the map-of-lists
// form (API 1.22+) and the older map-of-sets form, and their matching.

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// psFilters are the filters docker ps may give.
var psFilters = []string{"name", "id", "label", "status", "node", "ancestor", "network"}

// filters are a call's filters: key to the values any of which may match.
type filters map[string][]string

// parseFilters decodes ?filters=.
func parseFilters(raw string) (filters, error) {
	f := filters{}
	if raw == "" {
		return f, nil
	}
	var lists map[string][]string
	if err := json.Unmarshal([]byte(raw), &lists); err != nil {
		var sets map[string]map[string]bool
		if err2 := json.Unmarshal([]byte(raw), &sets); err2 != nil {
			return nil, errdefs.Invalid("filters", "not a JSON object of filters: %v", err)
		}
		lists = map[string][]string{}
		for k, set := range sets {
			for v, on := range set {
				if on {
					lists[k] = append(lists[k], v)
				}
			}
		}
	}
	for k, vs := range lists {
		if !slices.Contains(psFilters, k) {
			return nil, errdefs.Invalid("filters", "invalid filter '%s': Wharf's docker ps filters by %s", k, strings.Join(psFilters, ", "))
		}
		f[k] = vs
	}
	for _, v := range f["status"] {
		switch container.ContainerState(v) {
		case container.StateCreated, container.StateRunning, container.StatePaused, container.StateRestarting,
			container.StateRemoving, container.StateExited, container.StateDead:
		default:
			return nil, errdefs.Invalid("filters", "invalid filter 'status=%s'", v)
		}
	}
	for _, v := range f["name"] {
		if _, err := regexp.Compile(v); err != nil {
			return nil, errdefs.Invalid("filters", "name filter %q is not a regular expression: %v", v, err)
		}
	}
	return f, nil
}

func (f filters) has(k string) bool { return len(f[k]) > 0 }

// any tells whether key has no values or one of them holds.
func (f filters) any(key string, holds func(string) bool) bool {
	vs := f[key]
	if len(vs) == 0 {
		return true
	}
	return slices.ContainsFunc(vs, holds)
}

// match tells whether e, listed as sum, passes every filter.
func (f filters) match(e *entry, sum container.Summary) bool {
	return f.any("name", func(v string) bool {
		re := regexp.MustCompile(v)
		return re.MatchString(e.name) || re.MatchString(e.dockerName())
	}) && f.any("id", func(v string) bool { return strings.HasPrefix(e.id, v) }) &&
		f.any("status", func(v string) bool { return string(sum.State) == v }) &&
		f.any("node", func(v string) bool { return e.node != nil && (e.node.Name == v || e.node.ID == v) }) &&
		f.any("ancestor", func(v string) bool {
			img := e.image()
			return img == v || scheduler.ImageName(img) == v || strings.HasPrefix(img, v+":") || strings.HasPrefix(img, v+"@")
		}) &&
		f.any("network", func(v string) bool {
			for _, name := range slices.Collect(maps.Keys(e.endpoints())) {
				if name == v || e.endpoints()[name].NetworkID == v {
					return true
				}
			}
			return false
		}) &&
		f.allLabels(sum.Labels)
}

// allLabels: every label filter ("key" or "key=value") holds.
func (f filters) allLabels(labels map[string]string) bool {
	for _, v := range f["label"] {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

// writeBody writes v as the JSON body after the status was written.
func writeBody(w http.ResponseWriter, v any) error {
	return json.NewEncoder(w).Encode(v)
}
