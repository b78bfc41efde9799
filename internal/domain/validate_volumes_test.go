package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

func TestValidateVolumesAndLabels(t *testing.T) {
	named := func(src, target string) api.VolumeMount {
		return api.VolumeMount{Type: api.VolumeNamed, Source: src, Target: target}
	}
	cases := []struct {
		name         string
		edit         func(*api.ServiceSpec)
		field, words string // empty field: valid
	}{
		{name: "all good", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/var/lib/data"), {Type: api.VolumeBind, Source: "/etc/app", Target: "/config", ReadOnly: true}}
			s.Labels = map[string]string{"team": "data", "com.example.tier": "", "wharfish": "any string\twill do"}
			s.Networks = []string{"front", "back-1"}
		}},
		{name: "fake driver may have volumes", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command, s.Driver = "", []string{"sleep"}, "fake"
			s.Volumes = []api.VolumeMount{named("data", "/data")}
		}},
		{name: "longest volume name", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named(strings.Repeat("v", maxVolumeSourceLen), "/data")}
		}},
		{name: "exec driver", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command = "", []string{"sleep", "1"}
			s.Volumes = []api.VolumeMount{named("data", "/data")}
		}, field: "spec.volumes", words: "the exec driver cannot mount volumes; use an image (docker driver) or remove volumes"},
		{name: "unknown type", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/data"), {Type: "tmpfs", Target: "/tmp"}}
		}, field: "spec.volumes[1].type", words: `unknown volume type "tmpfs"`},
		{name: "no type", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{{Source: "data", Target: "/data"}}
		}, field: "spec.volumes[0].type"},
		{name: "relative target", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/data"), named("logs", "logs")}
		}, field: "spec.volumes[1].target", words: "absolute, clean path"},
		{name: "unclean target", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/data/../etc")}
		}, field: "spec.volumes[0].target", words: "absolute, clean path"},
		{name: "trailing slash", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/data/")}
		}, field: "spec.volumes[0].target"},
		{name: "root target", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "/")}
		}, field: "spec.volumes[0].target", words: "root"},
		{name: "no target", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("data", "")}
		}, field: "spec.volumes[0].target"},
		{name: "duplicate target", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("a", "/data"), named("b", "/logs"), {Type: api.VolumeBind, Source: "/srv", Target: "/data"}}
		}, field: "spec.volumes[2].target", words: "already the target of spec.volumes[0]"},
		{name: "named without source", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("", "/data")}
		}, field: "spec.volumes[0].source", words: "needs a name"},
		{name: "named with a path", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named("/srv/data", "/data")}
		}, field: "spec.volumes[0].source", words: "must match"},
		{name: "named starting with a dot", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named(".data", "/data")}
		}, field: "spec.volumes[0].source"},
		{name: "named too long", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{named(strings.Repeat("v", maxVolumeSourceLen+1), "/data")}
		}, field: "spec.volumes[0].source", words: "Docker allows 255"},
		{name: "relative bind", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{{Type: api.VolumeBind, Source: "./conf", Target: "/conf"}}
		}, field: "spec.volumes[0].source", words: "absolute path on the node"},
		{name: "bind without source", edit: func(s *api.ServiceSpec) {
			s.Volumes = []api.VolumeMount{{Type: api.VolumeBind, Target: "/conf"}}
		}, field: "spec.volumes[0].source"},
		{name: "empty label key", edit: func(s *api.ServiceSpec) {
			s.Labels = map[string]string{"": "x"}
		}, field: "spec.labels", words: "must not be empty"},
		{name: "reserved label", edit: func(s *api.ServiceSpec) {
			s.Labels = map[string]string{"team": "a", "wharf.node": "elsewhere"}
		}, field: "spec.labels.wharf.node", words: `prefix "wharf." is reserved`},
		{name: "bad network", edit: func(s *api.ServiceSpec) {
			s.Networks = []string{"front", "Back_End"}
		}, field: "spec.networks[1]", words: "must match"},
		{name: "duplicate network", edit: func(s *api.ServiceSpec) {
			s.Networks = []string{"front", "front"}
		}, field: "spec.networks[1]", words: "twice"},
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

// TestReservedLabelPrefixIsTheDriversOwn: the prefix the server refuses is
// the one the docker driver labels its containers with.
func TestReservedLabelPrefixIsTheDriversOwn(t *testing.T) {
	if reservedLabelPrefix != docker.LabelPrefix {
		t.Fatalf("the server reserves %q, the docker driver labels with %q", reservedLabelPrefix, docker.LabelPrefix)
	}
}
