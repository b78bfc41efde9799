package fake

import (
	"testing"

	"github.com/wharfhq/wharf/api"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// TestLastSpec: the driver keeps what each run was asked for, mounts and
// labels included, after Remove too.
func TestLastSpec(t *testing.T) {
	d := New()
	if _, ok := d.LastSpec("v1"); ok {
		t.Fatal("LastSpec of an ID never started: ok, want not")
	}
	spec := wrt.Spec{ID: "v1", Mounts: []api.VolumeMount{{Type: api.VolumeNamed, Source: "web-1-data", Target: "/data"}},
		Labels: map[string]string{"team": "data"}}
	if _, err := d.Start(ctx5(t), spec); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx5(t), "v1"); err != nil {
		t.Fatal(err)
	}
	got, ok := d.LastSpec("v1")
	if !ok || len(got.Mounts) != 1 || got.Mounts[0] != spec.Mounts[0] || got.Labels["team"] != "data" {
		t.Errorf("LastSpec = %+v, %v; want the started spec", got, ok)
	}
}
