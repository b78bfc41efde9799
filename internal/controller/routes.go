package controller

import (
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/routing"
)

// routedContainer is what the service's routes add to a new container:
// its host-mode ports, plus each port a route goes to that the service
// does not publish, on a free port of the node (the routers reach the
// container there); and, when the service has routes, how long its agent
// keeps it running once it is no longer routed (api.ContainerSpec.RouteDrainMS).
func routedContainer(spec api.ServiceSpec) (ports []api.PortSpec, drainMS int) {
	ports = hostPorts(spec.Ports)
	for _, p := range routing.RoutedPorts(spec) {
		ports = append(ports, api.PortSpec{ContainerPort: p, Protocol: "tcp"})
	}
	return ports, routing.DrainMS(spec)
}
