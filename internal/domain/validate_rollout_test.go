package domain

import (
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestValidateUpdateAndRollbackConfigs(t *testing.T) {
	base := func() api.ServiceSpec {
		return api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 1}
	}
	ok := base()
	ok.Update = api.UpdateConfig{Parallelism: 2, Order: api.OrderStartFirst, FailureAction: api.FailurePause, MaxFailureRatio: 0.5}
	ok.Rollback = &api.UpdateConfig{Parallelism: 3, Delay: "1s", Order: api.OrderStopFirst, Monitor: "2s"}
	if err := validateSpec(&ok); err != nil {
		t.Fatalf("valid configs refused: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*api.ServiceSpec)
		field string
	}{
		{"update order", func(s *api.ServiceSpec) { s.Update.Order = "sideways" }, "spec.update.order"},
		{"update parallelism", func(s *api.ServiceSpec) { s.Update.Parallelism = -1 }, "spec.update.parallelism"},
		{"update ratio", func(s *api.ServiceSpec) { s.Update.MaxFailureRatio = 2 }, "spec.update.max_failure_ratio"},
		{"update delay", func(s *api.ServiceSpec) { s.Update.Delay = "soon" }, "spec.update"},
		{"rollback order", func(s *api.ServiceSpec) { s.Rollback = &api.UpdateConfig{Order: "sideways"} }, "spec.rollback.order"},
		{"rollback delay", func(s *api.ServiceSpec) { s.Rollback = &api.UpdateConfig{Delay: "-1s"} }, "spec.rollback"},
		{"rollback failure action", func(s *api.ServiceSpec) { s.Rollback = &api.UpdateConfig{FailureAction: api.FailurePause} }, "spec.rollback"},
		{"rollback ratio", func(s *api.ServiceSpec) { s.Rollback = &api.UpdateConfig{MaxFailureRatio: 0.5} }, "spec.rollback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			var fe *errdefs.FieldError
			if err := validateSpec(&s); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("validateSpec = %v, want an error on %s", err, tt.field)
			}
		})
	}
}

func TestSettingsAloneNeedNoRollout(t *testing.T) {
	a := api.ServiceSpec{Command: []string{"serve"}, Replicas: 1}
	b := a
	b.Rollback = &api.UpdateConfig{Parallelism: 4}
	if needsRollout(a, b) {
		t.Fatal("a rollback config change replaced the containers")
	}
	b.DependsOn = []api.Dependency{{Service: "db", Condition: api.ConditionStarted}}
	if needsRollout(a, b) {
		t.Fatal("a depends_on change replaced the containers")
	}
	b.Env = map[string]string{"V": "2"}
	if !needsRollout(a, b) {
		t.Fatal("an env change did not replace the containers")
	}
}

// TestRouteChangesAloneNeedNoRollout: a route's host, path or options
// reach the routers without replacing containers; a route that needs
// another container port published, a service's first route (its drain
// time) and a drain change do replace them.
func TestRouteChangesAloneNeedNoRollout(t *testing.T) {
	a := api.ServiceSpec{Image: "web", Ports: []api.PortSpec{{ContainerPort: 80}}, Expose: []api.PortSpec{{ContainerPort: 9000}},
		Routes: []api.Route{{Host: "a.io", Port: 80}}, Replicas: 1}
	b := a
	b.Routes = []api.Route{{Host: "b.io", Path: "/x", Port: 80}, {Protocol: api.RouteHTTPS, Host: "b.io", Port: 80}}
	b.RouteOptions = api.RouteOptions{Balance: api.BalanceSource, Cookie: "S", ForceSSL: true}
	if needsRollout(a, b) {
		t.Fatal("new hosts, paths and options replaced the containers")
	}
	c := a
	c.Routes = []api.Route{{Host: "a.io", Port: 9000}}
	if !needsRollout(a, c) {
		t.Fatal("a route to an unpublished port did not replace the containers")
	}
	d := a
	d.RouteOptions.Drain = 10000
	if !needsRollout(a, d) {
		t.Fatal("a drain change did not replace the containers")
	}
	e := a
	e.Routes = nil
	if !needsRollout(a, e) {
		t.Fatal("dropping every route (and its drain) did not replace the containers")
	}
}
