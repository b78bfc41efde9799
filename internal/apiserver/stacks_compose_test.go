package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestDeployStackCompose: PUT /v1/stacks/{name} with a compose file's
// text plans and deploys it with the variables sent; a key that would
// read a file of the server's, and spec with compose, are refused (400
// naming them).
func TestDeployStackCompose(t *testing.T) {
	e := newEnv(t)
	text := "services:\n  web:\n    image: nginx:${TAG}\n    cap_add: [NET_ADMIN]\n"
	body := func(r api.DeployStackRequest) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var res api.DeployStackResult
	e.call("PUT", "/v1/stacks/shop", body(api.DeployStackRequest{Compose: text, Variables: map[string]string{"TAG": "1.27"}, DryRun: true}), http.StatusOK, &res)
	if !res.DryRun || len(res.Plan) != 1 || res.Plan[0].Action != api.PlanCreate {
		t.Fatalf("plan %+v", res)
	}
	e.call("PUT", "/v1/stacks/shop", body(api.DeployStackRequest{Compose: text, Variables: map[string]string{"TAG": "1.27"}}), http.StatusCreated, &res)
	if len(res.Stack.Spec.Services) != 1 || res.Stack.Spec.Services[0].Spec.Image != "nginx:1.27" {
		t.Errorf("stack %+v", res.Stack.Spec)
	}
	if w := res.Stack.Spec.Warnings; len(w) != 1 || !strings.Contains(w[0], "compose.yaml:4") {
		t.Errorf("warnings %q", w)
	}
	for what, c := range map[string]struct{ body, want string }{
		"env_file": {body(api.DeployStackRequest{Compose: "services:\n  web:\n    image: nginx\n    env_file: /etc/hostname\n"}), "compose.yaml:4: services.web.env_file"},
		"unset":    {body(api.DeployStackRequest{Compose: text}), "variable TAG is not set"},
		"both":     {body(api.DeployStackRequest{Compose: text, Spec: api.StackSpec{Services: []api.StackService{{Name: "x", Spec: api.ServiceSpec{Image: "nginx"}}}}}), "either spec or compose"},
	} {
		code, b := e.do("PUT", "/v1/stacks/shop", e.admin, c.body)
		if code != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s; want 400 with %q", what, code, b, c.want)
		}
	}
}
