package domain

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// FuzzValidateLabels checks node labels (PATCH /v1/nodes/{id}) and service
// tags ("key=value" or "key") as the API does: never a panic, an error is a
// FieldError naming the label or tag at fault, and what is accepted has a
// key matching labelKeyRE and a short printable value.
func FuzzValidateLabels(f *testing.F) {
	for _, seed := range [][2]string{{"zone", "eu-1"}, {"ssd", ""}, {"disk.type/x", "nvme"}, {"-bad", "v"}, {"k", "tab\there"},
		{"", ""}, {"k", strings.Repeat("v", 300)}, {"é", "ü"}, {"a=b", "c"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		err := validateLabels(map[string]string{k: v})
		var fe *errdefs.FieldError
		if err != nil {
			if !errors.As(err, &fe) || fe.Field != "labels."+k {
				t.Fatalf("validateLabels(%q=%q): %v, want a FieldError on labels.%s", k, v, err, k)
			}
		} else if !labelKeyRE.MatchString(k) || len(v) > maxValueLen || !printable(v) {
			t.Fatalf("ValidateLabels accepted %q=%q", k, v)
		}

		tag := k
		if v != "" {
			tag += "=" + v
		}
		spec := baseSpec()
		spec.Tags = []string{"ok", tag}
		err = validateSpec(&spec)
		if err != nil {
			if !errors.As(err, &fe) || fe.Field != "spec.tags[1]" {
				t.Fatalf("tag %q: %v, want a FieldError on spec.tags[1]", tag, err)
			}
			return
		}
		key, val, _ := strings.Cut(tag, "=")
		if !labelKeyRE.MatchString(key) || len(val) > maxValueLen || !printable(val) {
			t.Fatalf("validateSpec accepted tag %q (%s)", tag, strconv.Quote(key))
		}
	})
}
