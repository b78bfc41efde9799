package docker

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Ports and network modes, as Docker has them:
//
//   - bridge ("", the default): the container is on Docker's bridge, or
//     on its overlay networks' Docker networks (network.go); spec.Ports
//     are published on the node, each on its HostIP (0.0.0.0 when none)
//     and its HostPort (a free one the engine picks when 0), tcp or udp;
//     spec.Expose are exposed only; spec.PublishAll publishes every
//     exposed port (the image's EXPOSE too) on free host ports (-P).
//   - host: the container is on the node's network stack; it publishes
//     nothing, its ports are the node's.
//   - none: the container has a loopback interface only.
//
// Ingress ports (api.PortModeIngress) are the routers', never the node's:
// the server leaves them out of a container's ports, and the driver
// refuses one it is given.

// checkNetworkMode refuses a network mode the driver does not know, and
// networks or published ports in host and none mode.
func checkNetworkMode(spec runtime.Spec) error {
	switch spec.NetworkMode {
	case "", "bridge":
		return nil
	case "host", "none":
	default:
		return fmt.Errorf("docker driver: start %s: unknown network mode %q; want bridge, host or none", spec.ID, spec.NetworkMode)
	}
	switch {
	case len(spec.Networks) > 0:
		return fmt.Errorf("docker driver: start %s: network mode %s joins no other network, and the spec has %d network attachments; use bridge", spec.ID, spec.NetworkMode, len(spec.Networks))
	case len(spec.Ports) > 0 || spec.PublishAll:
		return fmt.Errorf("docker driver: start %s: network mode %s publishes no ports; drop the ports (and -P), or use bridge", spec.ID, spec.NetworkMode)
	}
	return nil
}

// portConfig is the engine's exposed ports (spec.Ports and spec.Expose)
// and port bindings (spec.Ports) of spec's container.
func portConfig(spec runtime.Spec) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, p := range spec.Ports {
		port, err := enginePort(p)
		if err == nil && p.Mode == api.PortModeIngress {
			err = fmt.Errorf("an ingress port is published by the routers, not on the container's node")
		}
		var ip netip.Addr
		if err == nil {
			ip, err = bindAddr(p.HostIP)
		}
		if err != nil || p.HostPort < 0 || p.HostPort > 65535 {
			return nil, nil, fmt.Errorf("docker driver: start %s: bad port %s:%d:%d/%s: %v; ports are 1-65535 (host port 0 for a free one), protocol tcp or udp, host address an IP address",
				spec.ID, p.HostIP, p.HostPort, p.ContainerPort, p.Protocol, err)
		}
		exposed[port] = struct{}{}
		hp := ""
		if p.HostPort > 0 {
			hp = strconv.Itoa(p.HostPort)
		}
		bindings[port] = append(bindings[port], network.PortBinding{HostIP: ip, HostPort: hp})
	}
	for _, p := range spec.Expose {
		port, err := enginePort(p)
		if err != nil {
			return nil, nil, fmt.Errorf("docker driver: start %s: bad exposed port %d/%s: %v", spec.ID, p.ContainerPort, p.Protocol, err)
		}
		exposed[port] = struct{}{}
	}
	return exposed, bindings, nil
}

// enginePort is p's container port and protocol as the engine names them.
func enginePort(p api.PortSpec) (network.Port, error) {
	proto := network.TCP
	switch strings.ToLower(p.Protocol) {
	case "", "tcp":
	case "udp":
		proto = network.UDP
	default:
		return network.Port{}, fmt.Errorf("protocol %q is not tcp or udp", p.Protocol)
	}
	port, ok := network.PortFrom(uint16(p.ContainerPort), proto)
	if !ok || p.ContainerPort <= 0 || p.ContainerPort > 65535 {
		return network.Port{}, fmt.Errorf("container port %d is not from 1 to 65535", p.ContainerPort)
	}
	return port, nil
}

// bindAddr is the address a port is published on: hostIP, or 0.0.0.0
// (every IPv4 address) when it is "".
func bindAddr(hostIP string) (netip.Addr, error) {
	if hostIP == "" {
		return netip.IPv4Unspecified(), nil
	}
	ip, err := netip.ParseAddr(hostIP)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("host address %q is not an IP address", hostIP)
	}
	return ip, nil
}
