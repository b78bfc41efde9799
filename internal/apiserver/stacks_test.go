package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func (e *env) deploy(name string, spec api.StackSpec, dryRun bool, want int) api.DeployStackResult {
	e.t.Helper()
	b, err := json.Marshal(api.DeployStackRequest{Spec: spec, DryRun: dryRun})
	if err != nil {
		e.t.Fatal(err)
	}
	var res api.DeployStackResult
	e.call("PUT", "/v1/stacks/"+name, string(b), want, &res)
	return res
}

// stackServicesByName lists the services of a stack through ?stack=.
func (e *env) stackServicesByName(ref string) map[string]api.Service {
	e.t.Helper()
	var l api.List[api.Service]
	e.call("GET", "/v1/services?stack="+ref, "", 200, &l)
	out := map[string]api.Service{}
	for _, svc := range l.Items {
		out[svc.Name] = svc
	}
	return out
}

func planString(plan []api.PlanEntry) string {
	var out []string
	for _, e := range plan {
		out = append(out, e.Service+":"+e.Action)
	}
	return strings.Join(out, " ")
}

// stackEvents are the messages of the stack events so far.
func (e *env) stackEvents() []string {
	e.t.Helper()
	var evs api.List[api.Event]
	e.call("GET", "/v1/events?limit=1000", "", 200, &evs)
	var out []string
	for _, ev := range evs.Items {
		if ev.Kind == "stack" {
			out = append(out, ev.Type+": "+ev.Message)
		}
	}
	return out
}

func TestDeployStack(t *testing.T) {
	e := newEnv(t)
	e.createService("lonely", 1)

	// A dry run plans and writes nothing.
	dry := e.deploy("app", threeTier(), true, 200)
	if !dry.DryRun || !dry.Created || planString(dry.Plan) != "web:create api:create db:create" || dry.Stack.Status.Services != 3 {
		t.Fatalf("dry run: %+v", dry)
	}
	if code, b := e.do("GET", "/v1/stacks/app", e.admin, ""); code != 404 {
		t.Fatalf("the dry run made the stack: %d %s", code, b)
	}
	var all api.List[api.Service]
	e.call("GET", "/v1/services", "", 200, &all)
	if len(all.Items) != 1 {
		t.Fatalf("the dry run made services: %+v", all.Items)
	}

	res := e.deploy("app", threeTier(), false, http.StatusCreated)
	if !res.Created || res.DryRun || planString(res.Plan) != "web:create api:create db:create" || res.Stack.Name != "app" || res.Stack.ID == "" {
		t.Fatalf("deploy: %+v", res)
	}
	stackID := res.Stack.ID
	svcs := e.stackServicesByName("app")
	if len(svcs) != 3 {
		t.Fatalf("services of the stack: %v", svcs)
	}
	web, apiSvc, db := svcs["app-web"], svcs["app-api"], svcs["app-db"]
	if web.Stack != stackID || apiSvc.Stack != stackID || db.Stack != stackID || !web.Spec.Running {
		t.Fatalf("services %+v", svcs)
	}
	if fmt.Sprint(web.Spec.Links) != "[app-api:api]" || fmt.Sprint(apiSvc.Spec.Links) != "[app-db:database]" || apiSvc.Spec.DependsOn[0].Service != "app-db" {
		t.Fatalf("links and depends_on not rewritten: %+v %+v", web.Spec, apiSvc.Spec)
	}
	var idx struct{ api.Meta }
	if err := e.st.Get(t.Context(), store.KindNames, "services.app-db", &idx); err != nil || idx.Name != db.ID {
		t.Fatalf("service name index: %+v %v", idx, err)
	}
	if svcs2 := e.stackServicesByName(stackID); len(svcs2) != 3 {
		t.Fatalf("?stack=<id>: %v", svcs2)
	}
	if code, b := e.do("GET", "/v1/services?stack=nope", e.admin, ""); code != 404 {
		t.Fatalf("?stack= of an unknown stack: %d %s", code, b)
	}
	var got api.Stack
	e.call("GET", "/v1/stacks/app", "", 200, &got)
	if got.ID != stackID || len(got.Spec.Services) != 3 || got.Spec.Services[0].Spec.Links[0] != "api" || got.Status.Services != 3 {
		t.Fatalf("stored stack keeps short names: %+v", got)
	}
	var list api.List[api.Stack]
	e.call("GET", "/v1/stacks", "", 200, &list)
	if len(list.Items) != 1 || list.Items[0].Status.Services != 3 {
		t.Fatalf("list: %+v", list)
	}

	// The same spec again changes nothing at all.
	again := e.deploy("app", threeTier(), false, 200)
	if again.Created || planString(again.Plan) != "web:unchanged api:unchanged db:unchanged" {
		t.Fatalf("deploy again: %+v", again)
	}
	var same api.Stack
	e.call("GET", "/v1/stacks/"+stackID, "", 200, &same)
	if same.Revision != got.Revision {
		t.Fatalf("stack rewritten: revision %d -> %d", got.Revision, same.Revision)
	}
	for name, svc := range e.stackServicesByName("app") {
		if svc.Revision != svcs[name].Revision {
			t.Fatalf("%s rewritten by an unchanged deploy", name)
		}
	}

	// Only api's env changes: it rolls out, the others are untouched.
	spec := threeTier()
	spec.Services[1].Spec.Env["MODE"] = "dev"
	res = e.deploy("app", spec, false, 200)
	if planString(res.Plan) != "web:unchanged api:update db:unchanged" || !res.Plan[1].Rollout ||
		len(res.Plan[1].Changes) != 1 || res.Plan[1].Changes[0] != (api.FieldChange{Field: "env.MODE", Old: `"prod"`, New: `"dev"`}) {
		t.Fatalf("env change: %+v", res.Plan)
	}
	after := e.stackServicesByName("app")
	if a := after["app-api"]; a.RestartGeneration <= apiSvc.RestartGeneration || a.PreviousSpec == nil || a.Spec.Env["MODE"] != "dev" {
		t.Fatalf("api not rolled out: %+v", a)
	}
	if after["app-web"].Revision != web.Revision || after["app-db"].Revision != db.Revision {
		t.Fatal("unchanged services were written")
	}

	// Replicas only: an update without a rollout.
	spec.Services[2].Spec.Replicas = 2
	res = e.deploy("app", spec, false, 200)
	if planString(res.Plan) != "web:unchanged api:unchanged db:update" || res.Plan[2].Rollout {
		t.Fatalf("replicas change: %+v", res.Plan)
	}
	after2 := e.stackServicesByName("app")
	if d := after2["app-db"]; d.Spec.Replicas != 2 || d.RestartGeneration != db.RestartGeneration {
		t.Fatalf("db after scale: %+v", d)
	}

	// A dry run of a change returns the plan and writes nothing.
	dspec := threeTier()
	dspec.Services[0].Spec.Command = []string{"sleep", "9"}
	dry = e.deploy("app", dspec, true, 200)
	if !dry.DryRun || dry.Created || planString(dry.Plan) != "web:update api:update db:update" {
		t.Fatalf("dry run of a change: %+v", dry.Plan)
	}
	for name, svc := range e.stackServicesByName("app") {
		if svc.Revision != after2[name].Revision {
			t.Fatalf("the dry run wrote %s", name)
		}
	}

	// web leaves the spec: it is removed.
	spec.Services = spec.Services[1:]
	res = e.deploy("app", spec, false, 200)
	if planString(res.Plan) != "api:unchanged db:unchanged web:remove" {
		t.Fatalf("remove: %+v", res.Plan)
	}
	if w := e.stackServicesByName("app")["app-web"]; !w.Terminating || w.Spec.Running {
		t.Fatalf("web not terminating: %+v", w)
	}
	// Bringing it back while it is still being removed is refused.
	code, b := e.do("PUT", "/v1/stacks/app", e.admin, mustJSON(t, api.DeployStackRequest{Spec: threeTier()}))
	if code != http.StatusConflict || !strings.Contains(string(b), "is being removed; retry when it is gone") {
		t.Fatalf("redeploy of a terminating service: %d %s", code, b)
	}

	want := []string{
		"created: stack app created with 3 services",
		"updated: stack app deployed: 1 update, 2 unchanged",
		"updated: stack app deployed: 1 update, 2 unchanged",
		"updated: stack app deployed: 1 remove, 2 unchanged",
	}
	if got := e.stackEvents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stack events:\n%q\nwant\n%q", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeployStackWarningsOnly(t *testing.T) {
	e := newEnv(t)
	first := e.deploy("app", threeTier(), false, http.StatusCreated)
	spec := threeTier()
	spec.Warnings = []string{"docker-compose.yml:3: build is not supported"}
	res := e.deploy("app", spec, false, 200)
	if planString(res.Plan) != "web:unchanged api:unchanged db:unchanged" || fmt.Sprint(res.Stack.Spec.Warnings) != fmt.Sprint(spec.Warnings) {
		t.Fatalf("warnings: %+v", res)
	}
	var st api.Stack
	e.call("GET", "/v1/stacks/app", "", 200, &st)
	if st.Revision == first.Stack.Revision || len(st.Spec.Warnings) != 1 {
		t.Fatalf("warnings not stored: %+v", st)
	}
}

func TestDeployStackErrors(t *testing.T) {
	e := newEnv(t)
	e.createService("app-db", 1)
	code, b := e.do("PUT", "/v1/stacks/app", e.admin, mustJSON(t, api.DeployStackRequest{Spec: threeTier()}))
	if msg := errDetail(t, b).Message; code != http.StatusConflict || !strings.Contains(msg, `"app-db"`) || !strings.Contains(msg, "rename") {
		t.Fatalf("name clash: %d %s", code, b)
	}
	spec := threeTier()
	spec.Services[0].Spec.DependsOn[0].Service = "nope"
	code, b = e.do("PUT", "/v1/stacks/other", e.admin, mustJSON(t, api.DeployStackRequest{Spec: spec}))
	if code != 400 || errDetail(t, b).Field != "spec.services[0].spec.depends_on[0].service" {
		t.Fatalf("unknown dependency: %d %s", code, b)
	}
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"viewer","admin":false}`, http.StatusCreated, &ro)
	code, b = e.do("PUT", "/v1/stacks/other", ro.Secret, mustJSON(t, api.DeployStackRequest{Spec: threeTier()}))
	if code != http.StatusForbidden {
		t.Fatalf("read-only deploy: %d %s", code, b)
	}
	e.deploy("other", threeTier(), false, http.StatusCreated)
	for _, p := range []string{"/v1/stacks", "/v1/stacks/other"} {
		if code, b := e.do("GET", p, ro.Secret, ""); code != 200 {
			t.Fatalf("read-only GET %s: %d %s", p, code, b)
		}
	}
	for _, verb := range []string{"stop", "start", "redeploy"} {
		if code, _ := e.do("POST", "/v1/stacks/other/"+verb, ro.Secret, ""); code != http.StatusForbidden {
			t.Fatalf("read-only %s: %d", verb, code)
		}
	}
	if code, _ := e.do("DELETE", "/v1/stacks/other", ro.Secret, ""); code != http.StatusForbidden {
		t.Fatalf("read-only rm: %d", code)
	}
	if code, _ := e.do("GET", "/v1/stacks/nope", e.admin, ""); code != 404 {
		t.Fatalf("unknown stack: %d", code)
	}
}

func TestStackActions(t *testing.T) {
	e := newEnv(t)
	res := e.deploy("app", threeTier(), false, http.StatusCreated)
	e.createService("lonely", 1)
	before := e.stackServicesByName("app")

	var st api.Stack
	e.call("POST", "/v1/stacks/app/stop", "", 200, &st)
	if st.ID != res.Stack.ID {
		t.Fatalf("stop answered %+v", st)
	}
	for name, svc := range e.stackServicesByName("app") {
		if svc.Spec.Running {
			t.Fatalf("%s still running after stack stop", name)
		}
	}
	code, b := e.do("POST", "/v1/stacks/app/redeploy", e.admin, "")
	if code != http.StatusConflict || !strings.Contains(string(b), "stack start") {
		t.Fatalf("redeploy of a stopped stack: %d %s", code, b)
	}
	e.call("POST", "/v1/stacks/"+res.Stack.ID+"/start", "", 200, &st)
	for name, svc := range e.stackServicesByName("app") {
		if !svc.Spec.Running {
			t.Fatalf("%s not running after stack start", name)
		}
	}
	// A deploy keeps a stopped stack stopped.
	e.call("POST", "/v1/stacks/app/stop", "", 200, &st)
	if r := e.deploy("app", threeTier(), false, 200); planString(r.Plan) != "web:unchanged api:unchanged db:unchanged" {
		t.Fatalf("deploy of a stopped stack: %+v", r.Plan)
	}
	if e.stackServicesByName("app")["app-web"].Spec.Running {
		t.Fatal("a deploy started a stopped service")
	}
	e.call("POST", "/v1/stacks/app/start", "", 200, &st)

	e.call("POST", "/v1/stacks/app/redeploy", "", http.StatusAccepted, &st)
	for name, svc := range e.stackServicesByName("app") {
		if svc.RestartGeneration <= before[name].RestartGeneration {
			t.Fatalf("%s not redeployed: generation %d", name, svc.RestartGeneration)
		}
	}

	var gone api.Stack
	e.call("DELETE", "/v1/stacks/app", "", http.StatusAccepted, &gone)
	if !gone.Terminating || gone.ID != res.Stack.ID {
		t.Fatalf("rm answered %+v", gone)
	}
	if code, _ := e.do("GET", "/v1/stacks/app", e.admin, ""); code != 404 {
		t.Fatalf("stack still there after rm: %d", code)
	}
	var idx struct{ api.Meta }
	if err := e.st.Get(t.Context(), store.KindNames, "stacks.app", &idx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stack name index after rm: %v", err)
	}
	var all api.List[api.Service]
	e.call("GET", "/v1/services", "", 200, &all)
	for _, svc := range all.Items {
		if svc.Stack == res.Stack.ID && (!svc.Terminating || svc.Spec.Running) {
			t.Fatalf("%s not terminating after stack rm", svc.Name)
		}
		if svc.Name == "lonely" && svc.Terminating {
			t.Fatal("stack rm touched a service of no stack")
		}
	}
	if len(all.Items) != 4 {
		t.Fatalf("services after rm: %d", len(all.Items))
	}
	if code, _ := e.do("DELETE", "/v1/stacks/app", e.admin, ""); code != 404 {
		t.Fatalf("rm of a removed stack: %d", code)
	}
	want := []string{
		"created: stack app created with 3 services",
		"deleted: stack app removed: its 3 services are being removed",
	}
	if got := e.stackEvents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stack events %q", got)
	}
}

// Concurrent deploys of one new stack: one creates it, the others meet its
// writes, re-read and find nothing left to do.
func TestDeployStackConcurrent(t *testing.T) {
	e := newEnv(t)
	body := mustJSON(t, api.DeployStackRequest{Spec: threeTier()})
	const n = 4
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, _ := e.do("PUT", "/v1/stacks/app", e.admin, body)
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	created := 0
	for code := range codes {
		switch code {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("concurrent deploy: status %d", code)
		}
	}
	if created != 1 {
		t.Fatalf("%d deploys created the stack", created)
	}
	if svcs := e.stackServicesByName("app"); len(svcs) != 3 {
		t.Fatalf("services: %v", svcs)
	}
}
