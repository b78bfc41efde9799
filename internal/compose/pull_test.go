package compose

import (
	"context"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestPullPolicy: compose's pull_policy maps onto the spec; if_not_present
// is missing, a refresh schedule is missing with a warning.
func TestPullPolicy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yml", `services:
  a: {image: x, pull_policy: always}
  b: {image: x, pull_policy: never}
  c: {image: x, pull_policy: if_not_present}
  d: {image: x, pull_policy: build}
  e: {image: x}
  f: {image: x, pull_policy: daily}
`)
	st, err := Load(context.Background(), Options{WorkingDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": api.PullAlways, "b": api.PullNever, "c": api.PullMissing, "d": api.PullBuild, "e": "", "f": api.PullMissing}
	for _, s := range st.Services {
		if s.Spec.PullPolicy != want[s.Name] {
			t.Errorf("%s: pull policy %q, want %q", s.Name, s.Spec.PullPolicy, want[s.Name])
		}
	}
	found := false
	for _, w := range st.Warnings {
		if strings.Contains(w.Message, "refresh schedule") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for daily: %v", st.Warnings)
	}
}
