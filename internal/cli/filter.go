package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// filterUsage is the help of --filter for a list with these keys.
func filterUsage(keys []string) string {
	how := map[string]string{"id": "id=PREFIX", "name": "name=PART", "label": "label=KEY or label=KEY=VALUE",
		"state": "state=STATE (any case)", "node": "node=NAME or ID", "service": "service=NAME",
		"availability": "availability=active, pause or drain"}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = how[k]
	}
	return "only the rows that match: " + strings.Join(parts, ", ") + "; repeatable (one key's values are alternatives, different keys must all match)"
}

// filterRows keeps the rows that match f's filters, as docker's --filter
// does: one key's values are alternatives, different keys must all match.
func filterRows(f listFlags, rows []row) ([]row, error) {
	if len(f.filters) == 0 {
		return rows, nil
	}
	want := map[string][]string{}
	for _, fl := range f.filters {
		k, v, ok := strings.Cut(fl, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE, such as name=web (keys: %s)", fl, strings.Join(f.filterKeys, ", "))
		}
		if !slices.Contains(f.filterKeys, k) {
			return nil, fmt.Errorf("--filter %q: this list has no key %q; use one of: %s", fl, k, strings.Join(f.filterKeys, ", "))
		}
		want[k] = append(want[k], v)
	}
	out := rows[:0:0]
	for _, r := range rows {
		if rowMatches(r, want) {
			out = append(out, r)
		}
	}
	return out, nil
}

func rowMatches(r row, want map[string][]string) bool {
	var m map[string]any
	b, _ := json.Marshal(r.obj)
	_ = json.Unmarshal(b, &m)
	for k, vals := range want {
		have := fieldValues(r, m, k)
		if !slices.ContainsFunc(vals, func(v string) bool { return matchOne(k, v, have) }) {
			return false
		}
	}
	return true
}

// fieldValues are what key k of the row is: from its JSON form (at the
// top or in its spec or status) and its extra match values.
func fieldValues(r row, m map[string]any, k string) []string {
	have := slices.Clone(r.match[k])
	str := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			have = append(have, s)
		}
	}
	sub := func(name string) map[string]any { s, _ := m[name].(map[string]any); return s }
	switch k {
	case "id":
		have = append(have, r.id)
	case "label":
		for _, src := range []any{m["labels"], sub("spec")["labels"]} {
			if labels, ok := src.(map[string]any); ok {
				for lk, lv := range labels {
					have = append(have, lk+"="+fmt.Sprint(lv))
				}
			}
		}
	case "state":
		str(m["state"])
		str(sub("status")["state"])
	default:
		str(m[k])
		str(sub("spec")[k])
	}
	return have
}

func matchOne(k, v string, have []string) bool {
	return slices.ContainsFunc(have, func(h string) bool {
		switch k {
		case "id":
			return v != "" && strings.HasPrefix(h, v)
		case "name":
			return strings.Contains(h, v)
		case "state":
			return strings.EqualFold(h, v)
		case "label":
			if !strings.Contains(v, "=") {
				lk, _, _ := strings.Cut(h, "=")
				return lk == v
			}
			return h == v
		default:
			return h == v
		}
	})
}
