package controller

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestContainerPortsAndNetworkMode: a container publishes its service's
// host-mode ports only (the routers listen on the ingress ones), carries
// its network mode, exposed ports and -P, and joins no network in host or
// none mode.
func TestContainerPortsAndNetworkMode(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, []string{"docker"}, nil)
	ports := []api.PortSpec{
		{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"},
		{ContainerPort: 80, HostPort: 443, Mode: api.PortModeIngress},
		{ContainerPort: 53, Protocol: "udp", Mode: api.PortModeHost},
	}
	expose := []api.PortSpec{{ContainerPort: 9000}}
	bridged := e.createService("web", api.ServiceSpec{Image: "img", Replicas: 1, Ports: ports, Expose: expose, PublishAll: true})
	hosted := e.createService("agent", api.ServiceSpec{Image: "img", Replicas: 1, NetworkMode: "host"})
	e.eventually(10*time.Second, func() error {
		cs, hs := e.containers(bridged.ID), e.containers(hosted.ID)
		if len(cs) != 1 || len(hs) != 1 {
			return fmt.Errorf("containers: %s / %s", describe(cs), describe(hs))
		}
		c, h := cs[0].Spec, hs[0].Spec
		want := []api.PortSpec{ports[0], ports[2]}
		if !reflect.DeepEqual(c.Ports, want) || !reflect.DeepEqual(c.Expose, expose) || !c.PublishAll || c.NetworkMode != "" || len(c.Networks) != 1 {
			return fmt.Errorf("bridged container: ports %+v expose %+v -P %v mode %q networks %d", c.Ports, c.Expose, c.PublishAll, c.NetworkMode, len(c.Networks))
		}
		if h.NetworkMode != "host" || len(h.Networks) != 0 {
			return fmt.Errorf("host container: mode %q networks %+v", h.NetworkMode, h.Networks)
		}
		return nil
	})
}
