package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestValidatePlacement(t *testing.T) {
	cases := []struct {
		name         string
		edit         func(*api.ServiceSpec)
		field, words string // empty field: valid
	}{
		{name: "all good", edit: func(s *api.ServiceSpec) {
			s.Strategy, s.Constraints, s.Affinities = api.StrategyHighAvailability, []string{"zone==a", "node.labels.disk!=~hdd*", "node.os==/lin/"}, []string{"service!=web", "image==~redis"}
			s.Reservations = api.Resources{MemoryBytes: 1 << 28, NanoCPUs: 5e8}
			s.Autorestart, s.Autodestroy, s.StopAfterDisconnect = api.PolicyOnFailure, api.PolicyOnSuccess, 30
		}},
		{name: "every strategy", edit: func(s *api.ServiceSpec) { s.Strategy = api.StrategyEveryNode }},
		{name: "binpack", edit: func(s *api.ServiceSpec) { s.Strategy = api.StrategyBinpack }},
		{name: "any case, - or _", edit: func(s *api.ServiceSpec) { s.Strategy, s.Autorestart = "every-node", "on-failure" }},
		{name: "unknown strategy", edit: func(s *api.ServiceSpec) { s.Strategy = "RANDOMLY" }, field: "spec.strategy", words: "want one of EMPTIEST_NODE"},
		{name: "bad constraint", edit: func(s *api.ServiceSpec) { s.Constraints = []string{"zone==a", "zone=a"} }, field: "spec.constraints[1]", words: `constraint "zone=a": want key==value, key!=value`},
		{name: "bad constraint key", edit: func(s *api.ServiceSpec) { s.Constraints = []string{"node.ram==1"} }, field: "spec.constraints[0]", words: `unknown key "node.ram"`},
		{name: "bad affinity", edit: func(s *api.ServiceSpec) { s.Affinities = []string{"host==a"} }, field: "spec.affinities[0]", words: `affinity "host==a": unknown key`},
		{name: "bad regex", edit: func(s *api.ServiceSpec) { s.Affinities = []string{"service==/(/"} }, field: "spec.affinities[0]", words: "bad regex"},
		{name: "negative memory", edit: func(s *api.ServiceSpec) { s.Reservations.MemoryBytes = -1 }, field: "spec.reservations.memory_bytes"},
		{name: "negative cpu", edit: func(s *api.ServiceSpec) { s.Reservations.NanoCPUs = -1 }, field: "spec.reservations.nano_cpus"},
		{name: "autorestart", edit: func(s *api.ServiceSpec) { s.Autorestart = "SOMETIMES" }, field: "spec.autorestart"},
		{name: "autodestroy", edit: func(s *api.ServiceSpec) { s.Autodestroy = "ON_FAILURE" }, field: "spec.autodestroy"},
		{name: "autodestroy ALWAYS needs autorestart OFF", edit: func(s *api.ServiceSpec) { s.Autodestroy, s.Autorestart = api.PolicyAlways, api.PolicyAlways }, field: "spec.autodestroy", words: "autorestart OFF"},
		{name: "autodestroy ALWAYS with OFF", edit: func(s *api.ServiceSpec) { s.Autodestroy, s.Autorestart = api.PolicyAlways, api.PolicyOff }},
		{name: "stop after disconnect", edit: func(s *api.ServiceSpec) { s.StopAfterDisconnect = -5 }, field: "spec.stop_after_disconnect"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := api.ServiceSpec{Image: "nginx", Replicas: 1}
			tc.edit(&spec)
			err := validateSpec(&spec)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
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
