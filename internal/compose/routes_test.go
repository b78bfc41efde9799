package compose

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestRoutesOfBuiltService: a service that `stack deploy` builds runs
// with the docker driver, so its routes may name container ports; a
// command without an image runs with the exec driver, whose routes go to
// $PORT and may not.
func TestRoutesOfBuiltService(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yml": `name: shop
services:
  web:
    build: ./web
    labels:
      wharf.route: shop.example.com:8080
`,
		"web/Dockerfile": "FROM scratch\n",
	})
	st, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Services[0].Spec.Routes; len(r) != 1 || r[0] != (api.Route{Protocol: "http", Host: "shop.example.com", Port: 8080}) {
		t.Errorf("routes %+v", r)
	}
	writeFiles(t, dir, map[string]string{"compose.yml": `name: shop
services:
  web:
    command: ["./web"]
    labels:
      wharf.route: shop.example.com:8080
    x-wharf:
      driver: exec
`})
	_, err = Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}})
	if err == nil || !strings.Contains(err.Error(), "compose.yml:3: services.web: spec.routes[0]: route shop.example.com:8080 names container port 8080, but the exec driver") {
		t.Errorf("an exec service's route with a port: %v", err)
	}
}
