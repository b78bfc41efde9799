package domain

// The field list of a stack deploy's plan: a small recursive diff of two
// service specs as JSON objects.

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/wharfhq/wharf/api"
)

// specChanges lists the fields that differ between old and new as dotted
// paths of their JSON ("image", "env.MODE", "healthcheck.interval"), sorted,
// each with its old and new value as compact JSON (empty when absent).
// Objects are compared key by key; lists and other values whole.
func specChanges(old, new api.ServiceSpec) []api.FieldChange {
	var changes []api.FieldChange
	diffJSON("", jsonTree(old), jsonTree(new), &changes)
	slices.SortFunc(changes, func(a, b api.FieldChange) int {
		switch {
		case a.Field < b.Field:
			return -1
		case a.Field > b.Field:
			return 1
		}
		return 0
	})
	return changes
}

// jsonTree is v as encoding/json's generic form (maps, slices, numbers as
// json.Number, strings, bools, nil).
func jsonTree(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return nil
	}
	return out
}

// diffJSON appends to out a change for every path under prefix where a and
// b differ. A missing value is nil.
func diffJSON(prefix string, a, b any, out *[]api.FieldChange) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			diffJSON(path, am[k], bm[k], out)
		}
		return
	}
	ao, bo := compactJSON(a), compactJSON(b)
	if ao != bo {
		*out = append(*out, api.FieldChange{Field: prefix, Old: ao, New: bo})
	}
}

// compactJSON encodes v, "" for nil (an absent field).
func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
