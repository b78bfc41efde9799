package compose

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestExamples loads examples/*/compose.yml strictly: the examples use no
// key Wharf ignores, and their services are what examples/README.md says.
func TestExamples(t *testing.T) {
	for _, c := range []struct {
		dir, name, driver string
	}{{"exec", "demo", "exec"}, {"docker", "demo-docker", "docker"}} {
		t.Run(c.dir, func(t *testing.T) {
			t.Setenv("WHARF_BIN", "/opt/wharf")
			st, err := Load(context.Background(), Options{Files: []string{filepath.Join("..", "..", "examples", c.dir, "compose.yml")}, Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != c.name || !st.Named || len(st.Services) != 3 {
				t.Fatalf("stack %q (named %v) with %d services", st.Name, st.Named, len(st.Services))
			}
			by := map[string]api.ServiceSpec{}
			for _, s := range st.Services {
				by[s.Name] = s.Spec
				if s.Spec.DriverName() != c.driver {
					t.Errorf("%s runs with %s", s.Name, s.Spec.DriverName())
				}
				if c.driver == "exec" && (len(s.Spec.Command) != 2 || s.Spec.Command[0] != "/opt/wharf") {
					t.Errorf("%s command %q: WHARF_BIN not interpolated", s.Name, s.Spec.Command)
				}
			}
			web, worker := by["web"], by["worker"]
			if h := web.Healthcheck; h == nil || h.HTTP != "/healthz" || (c.driver == "docker") != (len(web.Ports) > 0) || web.Replicas != 2 {
				t.Errorf("web: %+v", web)
			}
			want := api.Dependency{Service: "web", Condition: api.ConditionHealthy}
			if len(worker.DependsOn) != 2 || worker.DependsOn[1] != want || len(worker.Links) != 1 || worker.Links[0] != "store" {
				t.Errorf("worker depends on %+v, links %q", worker.DependsOn, worker.Links)
			}
		})
	}
}

// TestExampleBuild loads examples/build/compose.yml strictly: web and
// worker are built from their directories, greeter runs web's image.
func TestExampleBuild(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "build"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "demo-build" || len(st.Services) != 3 {
		t.Fatalf("stack %q with %d services", st.Name, len(st.Services))
	}
	by := map[string]Service{}
	for _, s := range st.Services {
		by[s.Name] = s
	}
	if b := by["web"].Build; b == nil || b.Context != filepath.Join(dir, "web") || b.Image != "demo-web" || b.Dockerfile != "Dockerfile" {
		t.Errorf("web builds %+v", b)
	}
	if b := by["worker"].Build; b == nil || b.Context != filepath.Join(dir, "worker") || b.Args["EXAMPLE"] != "1" {
		t.Errorf("worker builds %+v", b)
	}
	if g := by["greeter"]; g.Build != nil || g.Spec.Image != "demo-web" {
		t.Errorf("greeter: %+v", g)
	}
}
