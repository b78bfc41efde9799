package domain

import (
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Names, labels and the like end up in tables on an operator's terminal:
// they may not carry characters that a terminal acts on (ESC sequences,
// carriage returns, bidi overrides). Commands and environment values may
// (a shell script has newlines); the CLI escapes them on output.

// isBidiControl reports whether r reorders how text is displayed: the
// bidi embeddings, overrides, isolates and marks.
func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// printable reports whether s has no control characters (C0, DEL, C1) and
// no bidi controls.
func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) })
}

// controlErr refuses a value of field that holds a control character.
func controlErr(field, what, v string) error {
	i := strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) })
	return errdefs.Invalid(field, "%s %q has a control character at byte %d (such as ESC, a newline or a bidi override); use printable characters only", what, v, i)
}

// validateText checks the parts of a service spec that are names or short
// values shown in lists: label keys and values, environment variable
// names, constraints, affinities and links.
func validateText(spec *api.ServiceSpec) error {
	for _, k := range sortedKeys(spec.Labels) {
		switch {
		case !printable(k):
			return controlErr("spec.labels", "label key", k)
		case !printable(strings.ReplaceAll(spec.Labels[k], "\t", " ")): // free text, as Docker's: a tab drives no terminal
			return controlErr("spec.labels."+k, "label value", spec.Labels[k])
		}
	}
	for _, k := range sortedKeys(spec.Env) {
		if !printable(k) {
			return controlErr("spec.env", "environment variable name", k)
		}
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"spec.constraints", spec.Constraints}, {"spec.affinities", spec.Affinities}, {"spec.links", spec.Links}} {
		for i, v := range l.list {
			if !printable(v) {
				return controlErr(l.field+"["+strconv.Itoa(i)+"]", "value", v)
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
