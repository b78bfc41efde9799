package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestValidateDependsOn(t *testing.T) {
	dep := func(svc, cond string) api.Dependency { return api.Dependency{Service: svc, Condition: cond} }
	cases := []struct {
		name         string
		deps         []api.Dependency
		self         string
		field, words string // empty field: valid
	}{
		{name: "none"},
		{name: "all three conditions", deps: []api.Dependency{
			dep("shop-db", api.ConditionHealthy), dep("shop-cache", api.ConditionStarted), dep("shop-migrate", api.ConditionCompleted)}, self: "shop-web"},
		{name: "empty condition", deps: []api.Dependency{dep("db", "")}, field: "spec.depends_on[0].condition",
			words: "set one of service_started, service_healthy or service_completed_successfully"},
		{name: "unknown condition", deps: []api.Dependency{dep("db", api.ConditionStarted), dep("cache", "service_ready")}, field: "spec.depends_on[1].condition", words: `"service_ready"`},
		{name: "bad name", deps: []api.Dependency{dep("Shop_DB", api.ConditionStarted)}, field: "spec.depends_on[0].service", words: "must match"},
		{name: "empty name", deps: []api.Dependency{dep("", api.ConditionStarted)}, field: "spec.depends_on[0].service", words: "must match"},
		{name: "duplicate", deps: []api.Dependency{dep("db", api.ConditionStarted), dep("db", api.ConditionHealthy)}, field: "spec.depends_on[1].service", words: "already listed in spec.depends_on[0]"},
		{name: "itself", deps: []api.Dependency{dep("web", api.ConditionStarted)}, self: "web", field: "spec.depends_on[0].service", words: "cannot depend on itself"},
		{name: "itself unknown", deps: []api.Dependency{dep("web", api.ConditionStarted)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := api.ServiceSpec{Image: "nginx", Replicas: 1, DependsOn: tc.deps}
			err := validateDependsOn(&spec, tc.self)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid depends_on refused: %v", err)
				}
				return
			}
			var fe *errdefs.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.words) {
				t.Fatalf("error %v, want field %s with %q", err, tc.field, tc.words)
			}
		})
	}
}

func TestValidateSpecChecksDependsOn(t *testing.T) {
	spec := api.ServiceSpec{Image: "nginx", Replicas: 1, DependsOn: []api.Dependency{{Service: "db"}}}
	var fe *errdefs.FieldError
	if err := validateSpec(&spec); !errors.As(err, &fe) || fe.Field != "spec.depends_on[0].condition" {
		t.Fatalf("validateSpec = %v, want an error on spec.depends_on[0].condition", err)
	}
}
