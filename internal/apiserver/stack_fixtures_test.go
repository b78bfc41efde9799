package apiserver

import "github.com/wharfhq/wharf/api"

// The stack specs the HTTP tests deploy (the domain package's plan tests
// have their own copies).

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
