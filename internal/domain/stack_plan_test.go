package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func execSpec(args ...string) api.ServiceSpec {
	return api.ServiceSpec{Command: append([]string{"sleep"}, args...), Replicas: 1}
}

// threeTier is web -> api -> db, web linked to api, api to db as "database".
func threeTier() api.StackSpec {
	web := execSpec("1")
	web.Links = []string{"api"}
	web.DependsOn = []api.Dependency{{Service: "api", Condition: api.ConditionStarted}}
	apiSvc := execSpec("2")
	apiSvc.Links = []string{"db:database"}
	apiSvc.Env = map[string]string{"MODE": "prod"}
	apiSvc.DependsOn = []api.Dependency{{Service: "db", Condition: api.ConditionHealthy}}
	db := execSpec("3")
	db.Healthcheck = &api.Healthcheck{Command: []string{"true"}}
	return api.StackSpec{Services: []api.StackService{{Name: "web", Spec: web}, {Name: "api", Spec: apiSvc}, {Name: "db", Spec: db}}}
}

func mustPlan(t *testing.T, st *api.Stack, spec api.StackSpec, services []*api.Service) *stackPlan {
	t.Helper()
	spec, err := normalizeStackSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planStack(st, spec, services)
	if err != nil {
		t.Fatalf("planStack: %v", err)
	}
	return p
}

func actions(p *stackPlan) string {
	var out []string
	for _, e := range p.entries {
		out = append(out, e.Service+":"+e.Action)
	}
	return strings.Join(out, " ")
}

func TestPlanStackCreateRewritesNames(t *testing.T) {
	st := &api.Stack{Meta: api.Meta{ID: "s1", Name: "app"}}
	p := mustPlan(t, st, threeTier(), nil)
	if got := actions(p); got != "web:create api:create db:create" {
		t.Fatalf("plan %s", got)
	}
	by := map[string]*api.Service{}
	for _, svc := range p.create {
		by[svc.Name] = svc
		if svc.Stack != "s1" || !svc.Spec.Running || svc.ID == "" {
			t.Fatalf("created %+v", svc)
		}
	}
	web, apiSvc := by["app-web"], by["app-api"]
	if web == nil || apiSvc == nil || by["app-db"] == nil {
		t.Fatalf("names: %v", by)
	}
	if fmt.Sprint(web.Spec.Links) != "[app-api:api]" || fmt.Sprint(apiSvc.Spec.Links) != "[app-db:database]" {
		t.Fatalf("links %v %v", web.Spec.Links, apiSvc.Spec.Links)
	}
	if d := apiSvc.Spec.DependsOn; len(d) != 1 || d[0].Service != "app-db" || d[0].Condition != api.ConditionHealthy {
		t.Fatalf("depends_on %+v", d)
	}
	if len(p.events) != 3 || p.events[0].Type != "created" {
		t.Fatalf("events %+v", p.events)
	}
}

// deployed turns a plan's created services into what the store holds.
func deployed(p *stackPlan) []*api.Service {
	var out []*api.Service
	for _, svc := range p.create {
		c := *svc
		c.Revision = 7
		c.RestartGeneration = 1
		out = append(out, &c)
	}
	return out
}

func TestPlanStackUpdateUnchangedRemove(t *testing.T) {
	st := &api.Stack{Meta: api.Meta{ID: "s1", Name: "app"}}
	have := deployed(mustPlan(t, st, threeTier(), nil))

	same := mustPlan(t, st, threeTier(), have)
	if got := actions(same); got != "web:unchanged api:unchanged db:unchanged" || same.changed() {
		t.Fatalf("same spec: %s", got)
	}

	// A stopped service stays stopped, and the request's running counts
	// for nothing.
	have[0].Spec.Running = false
	spec := threeTier()
	spec.Services[0].Spec.Running = true
	if p := mustPlan(t, st, spec, have); p.changed() {
		t.Fatalf("running in the request changed the plan: %s", actions(p))
	}
	have[0].Spec.Running = true

	spec = threeTier()
	spec.Services[1].Spec.Env = map[string]string{"MODE": "dev", "NEW": "1"}
	spec.Services[2].Spec.Replicas = 3
	spec.Services = spec.Services[1:] // web goes
	spec.Services[0].Spec.Links = nil // api no longer links db
	spec.Services[0].Spec.DependsOn = nil
	p := mustPlan(t, st, spec, have)
	if got := actions(p); got != "api:update db:update web:remove" {
		t.Fatalf("plan %s", got)
	}
	apiEntry, dbEntry := p.entries[0], p.entries[1]
	var fields []string
	for _, c := range apiEntry.Changes {
		fields = append(fields, c.Field+"="+c.Old+"->"+c.New)
	}
	want := `depends_on=[{"condition":"service_healthy","service":"app-db"}]-> env.MODE="prod"->"dev" env.NEW=->"1" links=["app-db:database"]->`
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("api changes:\n%s\nwant\n%s", got, want)
	}
	if !apiEntry.Rollout {
		t.Fatal("an env change must roll out")
	}
	if dbEntry.Rollout || len(dbEntry.Changes) != 1 || dbEntry.Changes[0] != (api.FieldChange{Field: "replicas", Old: "1", New: "3"}) {
		t.Fatalf("db entry %+v", dbEntry)
	}
	for _, svc := range p.update {
		switch svc.Name {
		case "app-api":
			if svc.RestartGeneration != 2 || svc.PreviousGeneration != 1 || svc.PreviousSpec == nil || svc.PreviousSpec.Env["MODE"] != "prod" || svc.Spec.Env["MODE"] != "dev" {
				t.Fatalf("api after update %+v", svc)
			}
		case "app-db":
			if svc.RestartGeneration != 1 || svc.PreviousSpec != nil || svc.Spec.Replicas != 3 {
				t.Fatalf("db after update %+v", svc)
			}
		}
		if svc.Revision != 7 {
			t.Fatalf("update must keep the revision read, for the CAS: %+v", svc)
		}
	}
	if len(p.remove) != 1 || p.remove[0].Name != "app-web" || !p.remove[0].Terminating || p.remove[0].Spec.Running {
		t.Fatalf("remove %+v", p.remove)
	}
	if have[1].Spec.Env["MODE"] != "prod" || have[0].Terminating {
		t.Fatal("planStack changed the services it was given")
	}
}

func TestPlanStackConflicts(t *testing.T) {
	st := &api.Stack{Meta: api.Meta{ID: "s1", Name: "app"}}
	other := &api.Service{Meta: api.Meta{ID: "x", Name: "app-db"}, Spec: execSpec()}
	_, err := planStack(st, threeTier(), []*api.Service{other})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), `"app-db"`) || !strings.Contains(err.Error(), "rename") {
		t.Fatalf("clash with a standalone service: %v", err)
	}
	own := deployed(mustPlan(t, st, threeTier(), nil))
	own[2].Terminating = true
	_, err = planStack(st, threeTier(), own)
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "is being removed; retry when it is gone") {
		t.Fatalf("a service of the stack being removed: %v", err)
	}
	// A service already being removed and no longer wanted is left alone.
	spec := threeTier()
	spec.Services = spec.Services[:2]
	spec.Services[1].Spec.DependsOn = nil
	spec.Services[1].Spec.Links = nil
	p := mustPlan(t, st, spec, own)
	if got := actions(p); got != "web:unchanged api:update" {
		t.Fatalf("plan %s", got)
	}
}

func TestPlanStackInvalid(t *testing.T) {
	cases := []struct {
		name  string
		stack string
		edit  func(*api.StackSpec)
		field string
		msg   string
	}{
		{"stack name", "App", func(*api.StackSpec) {}, "name", "must match"},
		{"no services", "app", func(s *api.StackSpec) { s.Services = nil }, "spec.services", "at least one"},
		{"too many", "app", func(s *api.StackSpec) {
			for i := range api.MaxStackServices {
				s.Services = append(s.Services, api.StackService{Name: fmt.Sprintf("s%d", i), Spec: execSpec()})
			}
		}, "spec.services", "at most 200"},
		{"service name", "app", func(s *api.StackSpec) { s.Services[1].Name = "API" }, "spec.services[1].name", "must match"},
		{"full name too long", strings.Repeat("a", 60), func(*api.StackSpec) {}, "spec.services[0].name", "at most 63"},
		{"duplicate", "app", func(s *api.StackSpec) { s.Services[2].Name = "web" }, "spec.services[2].name", "unique"},
		{"service spec", "app", func(s *api.StackSpec) { s.Services[1].Spec.Replicas = -1 }, "spec.services[1].spec.replicas", "from 0"},
		{"link", "app", func(s *api.StackSpec) { s.Services[0].Spec.Links = []string{"api", "cache:c"} }, "spec.services[0].spec.links[1]", `"cache:c" names no service`},
		{"depends_on", "app", func(s *api.StackSpec) {
			s.Services[2].Spec.DependsOn = []api.Dependency{{Service: "queue", Condition: api.ConditionStarted}}
		}, "spec.services[2].spec.depends_on[0].service", `"queue" names no service`},
		{"healthy without health check", "app", func(s *api.StackSpec) { s.Services[2].Spec.Healthcheck = nil }, "spec.services[1].spec.depends_on[0].condition", "needs a health check"},
		{"cycle", "app", func(s *api.StackSpec) {
			s.Services[2].Spec.DependsOn = []api.Dependency{{Service: "web", Condition: api.ConditionStarted}}
		}, "spec.services[0].spec.depends_on", "web -> api -> db -> web"},
		{"self", "app", func(s *api.StackSpec) {
			s.Services[2].Spec.DependsOn = []api.Dependency{{Service: "db", Condition: api.ConditionStarted}}
		}, "spec.services[2].spec.depends_on", "db -> db"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := threeTier()
			tc.edit(&spec)
			_, err := planStack(&api.Stack{Meta: api.Meta{ID: "s1", Name: tc.stack}}, spec, nil)
			var fe *errdefs.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
				t.Fatalf("got %v, want field %s with %q", err, tc.field, tc.msg)
			}
		})
	}
}

func TestSpecChanges(t *testing.T) {
	a := execSpec()
	a.Healthcheck = &api.Healthcheck{Command: []string{"true"}, Interval: "5s"}
	b := a
	b.Healthcheck = &api.Healthcheck{Command: []string{"true"}, Interval: "10s"}
	b.Command = []string{"sleep", "2"}
	got := specChanges(a, b)
	want := []api.FieldChange{{Field: "command", Old: `["sleep"]`, New: `["sleep","2"]`}, {Field: "healthcheck.interval", Old: `"5s"`, New: `"10s"`}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	if c := specChanges(a, a); len(c) != 0 {
		t.Fatalf("no change: %v", c)
	}
}
