package fake

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// The fake driver keeps a container's secret files in memory until
// Remove; LastSpec, which outlives Remove, keeps no value.
func TestSecretFiles(t *testing.T) {
	ctx := context.Background()
	d := New()
	spec := runtime.Spec{ID: "c1", Secrets: []api.SecretFile{{Target: "pw", Mode: 0o400, Data: []byte("v"), Version: "s.1"}}}
	if _, err := d.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if f := d.SecretFiles("c1")["pw"]; string(f.Data) != "v" || f.Mode != 0o400 {
		t.Fatalf("files %+v", d.SecretFiles("c1"))
	}
	if s, _ := d.LastSpec("c1"); s.Secrets != nil {
		t.Fatalf("LastSpec keeps the values: %+v", s.Secrets)
	}
	if err := d.Remove(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if f := d.SecretFiles("c1"); f != nil {
		t.Fatalf("files after Remove: %+v", f)
	}
	spec.ID, spec.Secrets[0].Target = "c2", "../x"
	if _, err := d.Start(ctx, spec); err == nil {
		t.Fatal("a bad file name was accepted")
	}
}
