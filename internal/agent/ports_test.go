package agent

import (
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestToSpecNetworkMode: the driver gets the container's network mode,
// exposed ports and -P as the server sent them.
func TestToSpecNetworkMode(t *testing.T) {
	e := newExecutor(&Agent{})
	c := api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{
		Image: "img", NetworkMode: "none", Expose: []api.PortSpec{{ContainerPort: 9000, Protocol: "udp"}}, PublishAll: true,
		Ports: []api.PortSpec{{ContainerPort: 80, HostIP: "127.0.0.1"}},
	}}
	spec := e.toSpec(c)
	if spec.NetworkMode != "none" || !spec.PublishAll || !reflect.DeepEqual(spec.Expose, c.Spec.Expose) || !reflect.DeepEqual(spec.Ports, c.Spec.Ports) {
		t.Fatalf("runtime spec %+v lost the container's network mode, ports, expose or -P", spec)
	}
}

// TestProbeHost: an HTTP health check connects where the first port is
// published.
func TestProbeHost(t *testing.T) {
	drv := fake.New()
	for hostIP, want := range map[string]string{"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "127.0.0.1", "10.1.2.3": "10.1.2.3", "::1": "::1"} {
		spec := runtime.Spec{Ports: []api.PortSpec{{ContainerPort: 80, HostIP: hostIP}}}
		if got := probeHost(drv, spec); got != want {
			t.Errorf("host IP %q: probe host %q, want %q", hostIP, got, want)
		}
	}
}
