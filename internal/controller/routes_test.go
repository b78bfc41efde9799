package controller

import (
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestRoutedContainer: a route's port that the service does not publish
// is published on a free port of the node, and a routed container gets
// the drain time (the default, or the service's); an unrouted one none.
func TestRoutedContainer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      api.ServiceSpec
		wantPorts []api.PortSpec
		wantDrain int
	}{
		{"no route", api.ServiceSpec{Image: "img", Ports: []api.PortSpec{{ContainerPort: 80, HostPort: 8080}}},
			[]api.PortSpec{{ContainerPort: 80, HostPort: 8080}}, 0},
		{"route to an unpublished port", api.ServiceSpec{Image: "img", Routes: []api.Route{{Host: "a.test", Port: 8080}}},
			[]api.PortSpec{{ContainerPort: 8080, Protocol: "tcp"}}, api.DefaultRouteDrainMS},
		{"route to a published port", api.ServiceSpec{Image: "img", Ports: []api.PortSpec{{ContainerPort: 80, HostPort: 8080}},
			Routes: []api.Route{{Host: "a.test", Port: 80}}, RouteOptions: api.RouteOptions{Drain: 5000}},
			[]api.PortSpec{{ContainerPort: 80, HostPort: 8080}}, 5000},
		{"ingress port", api.ServiceSpec{Image: "img", Ports: []api.PortSpec{{ContainerPort: 80, HostPort: 9000, Mode: api.PortModeIngress}}},
			[]api.PortSpec{{ContainerPort: 80, Protocol: "tcp"}}, api.DefaultRouteDrainMS},
		{"exec driver", api.ServiceSpec{Command: []string{"hello"}, Env: map[string]string{"VIRTUAL_HOST": "a.test"}},
			nil, api.DefaultRouteDrainMS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, drain := routedContainer(tc.spec)
			if !reflect.DeepEqual(ports, tc.wantPorts) || drain != tc.wantDrain {
				t.Errorf("ports %+v drain %d; want %+v drain %d", ports, drain, tc.wantPorts, tc.wantDrain)
			}
		})
	}
}
