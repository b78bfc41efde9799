package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestValidatePortsAndNetworkModes(t *testing.T) {
	port := func(h, c int) api.PortSpec { return api.PortSpec{ContainerPort: c, HostPort: h} }
	cases := []struct {
		name         string
		edit         func(*api.ServiceSpec)
		field, words string // empty field: valid
	}{
		{name: "every form", edit: func(s *api.ServiceSpec) {
			s.NetworkMode = "bridge"
			s.Networks = []string{"front"}
			s.Ports = []api.PortSpec{port(8080, 80), port(0, 81), {ContainerPort: 53, HostPort: 53, Protocol: "udp"},
				{ContainerPort: 80, HostPort: 9090, HostIP: "127.0.0.1"}, {ContainerPort: 80, HostPort: 9090, HostIP: "::1"},
				{ContainerPort: 53, HostPort: 53, Protocol: "tcp"},
				{ContainerPort: 80, HostPort: 443, Mode: "ingress"}}
			s.Expose = []api.PortSpec{{ContainerPort: 9000}, {ContainerPort: 9001, Protocol: "udp"}}
			s.PublishAll = true
		}},
		{name: "mode in any case", edit: func(s *api.ServiceSpec) {
			s.NetworkMode = " HOST "
		}},
		{name: "none without ports", edit: func(s *api.ServiceSpec) { s.NetworkMode = "none" }},
		{name: "exec may have no network", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command, s.NetworkMode = "", []string{"sleep", "1"}, "none"
		}},
		{name: "unknown mode", edit: func(s *api.ServiceSpec) { s.NetworkMode = "service:db" },
			field: "spec.network_mode", words: "want bridge (the default), host or none"},
		{name: "host with ports", edit: func(s *api.ServiceSpec) {
			s.NetworkMode, s.Ports = "host", []api.PortSpec{port(8080, 80)}
		}, field: "spec.ports", words: "Docker ignores -p with --network host; Wharf refuses it"},
		{name: "host with networks", edit: func(s *api.ServiceSpec) {
			s.NetworkMode, s.Networks = "host", []string{"front"}
		}, field: "spec.networks", words: "cannot be on overlay networks"},
		{name: "host with -P", edit: func(s *api.ServiceSpec) {
			s.NetworkMode, s.PublishAll = "host", true
		}, field: "spec.publish_all", words: "publishes no ports"},
		{name: "none with ports", edit: func(s *api.ServiceSpec) {
			s.NetworkMode, s.Ports = "none", []api.PortSpec{port(0, 80)}
		}, field: "spec.ports", words: "network mode none has no network"},
		{name: "none with networks", edit: func(s *api.ServiceSpec) {
			s.NetworkMode, s.Networks = "none", []string{"front"}
		}, field: "spec.networks"},
		{name: "container port 0", edit: func(s *api.ServiceSpec) { s.Ports = []api.PortSpec{port(80, 0)} },
			field: "spec.ports[0].container_port", words: "from 1 to 65535"},
		{name: "host port too big", edit: func(s *api.ServiceSpec) { s.Ports = []api.PortSpec{port(70000, 80)} },
			field: "spec.ports[0].host_port"},
		{name: "bad protocol", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, Protocol: "sctp"}}
		}, field: "spec.ports[0].protocol", words: "tcp or udp"},
		{name: "bad host ip", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostIP: "localhost"}}
		}, field: "spec.ports[0].host_ip", words: "not an IP address"},
		{name: "one host port twice", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{port(9090, 80), port(9090, 81)}
		}, field: "spec.ports[1].host_port", words: "host port 9090/tcp is published twice (for container ports 80 and 81)"},
		{name: "every address clashes with one", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 9090, HostIP: "127.0.0.1"}, {ContainerPort: 81, HostPort: 9090, HostIP: "0.0.0.0"}}
		}, field: "spec.ports[1].host_port", words: "published twice"},
		{name: "one binding twice", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{port(0, 80), port(0, 80)}
		}, field: "spec.ports[1]", words: "published on every address (a free port) twice"},
		{name: "ingress without a port", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, Mode: "ingress"}}
		}, field: "spec.ports[0].host_port", words: "fixed published port"},
		{name: "ingress udp", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 53, HostPort: 53, Protocol: "udp", Mode: "Ingress"}}
		}, field: "spec.ports[0].protocol", words: "tcp only"},
		{name: "ingress with an address", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 80, HostIP: "10.0.0.1", Mode: "ingress"}}
		}, field: "spec.ports[0].host_ip"},
		{name: "ingress port twice", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 80, Mode: "ingress"}, {ContainerPort: 81, HostPort: 80, Mode: "ingress"}}
		}, field: "spec.ports[1].host_port", words: "ingress port 80 is published twice"},
		{name: "unknown port mode", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, Mode: "global"}}
		}, field: "spec.ports[0].mode"},
		{name: "expose with a host port", edit: func(s *api.ServiceSpec) {
			s.Expose = []api.PortSpec{port(80, 80)}
		}, field: "spec.expose[0]", words: "container port only"},
		{name: "expose 0", edit: func(s *api.ServiceSpec) { s.Expose = []api.PortSpec{{}} },
			field: "spec.expose[0].container_port"},
		{name: "exec exposes nothing", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command, s.Expose = "", []string{"sleep", "1"}, []api.PortSpec{{ContainerPort: 80}}
		}, field: "spec.expose"},
		{name: "exec publishes nothing", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command, s.PublishAll = "", []string{"sleep", "1"}, true
		}, field: "spec.publish_all"},
		{name: "http check on an ingress port only", edit: func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 80, Mode: "ingress"}}
			s.Healthcheck = &api.Healthcheck{HTTP: "/healthz"}
		}, field: "spec.healthcheck.http", words: "an ingress port is on the routers only"},
		{name: "http check with no network", edit: func(s *api.ServiceSpec) {
			s.Image, s.Command, s.NetworkMode = "", []string{"sleep", "1"}, "none"
			s.Healthcheck = &api.Healthcheck{HTTP: "/healthz"}
		}, field: "spec.healthcheck.http", words: "no network to check it over"},
		{name: "http check in host mode", edit: func(s *api.ServiceSpec) {
			s.NetworkMode = "host"
			s.Healthcheck = &api.Healthcheck{HTTP: "/healthz"}
		}, field: "spec.healthcheck.http", words: "use a command health check"},
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

// TestNetworkModeCanonical: the mode and port modes are stored in one
// spelling.
func TestNetworkModeCanonical(t *testing.T) {
	spec := api.ServiceSpec{Image: "nginx", NetworkMode: " Host ", Expose: []api.PortSpec{{ContainerPort: 80, Protocol: "UDP"}}}
	if err := validateSpec(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.NetworkMode != "host" || spec.Expose[0].Protocol != "udp" {
		t.Fatalf("network mode %q, expose protocol %q; want host and udp", spec.NetworkMode, spec.Expose[0].Protocol)
	}
	spec = api.ServiceSpec{Image: "nginx", Ports: []api.PortSpec{{ContainerPort: 80, HostPort: 80, Mode: "INGRESS"}}}
	if err := validateSpec(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.Ports[0].Mode != "ingress" {
		t.Fatalf("port mode %q, want ingress", spec.Ports[0].Mode)
	}
}
