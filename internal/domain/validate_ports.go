package domain

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Network modes, as Docker's --network and compose's network_mode name
// them; "" is bridge.
const (
	networkBridge = "bridge"
	networkHost   = "host"
	networkNone   = "none"
)

// validateNetworkMode checks spec.network_mode against the service's
// networks, ports and -P: the overlay networks are joined in bridge mode
// only; host and none publish nothing.
func validateNetworkMode(spec *api.ServiceSpec) error {
	mode := spec.NetworkMode
	switch mode {
	case "", networkBridge, networkHost, networkNone:
	default:
		return errdefs.Invalid("spec.network_mode", "unknown network mode %q: want bridge (the default), host or none "+
			"(compose's service:NAME and container:NAME, sharing another container's network, are not supported)", mode)
	}
	if mode != networkHost && mode != networkNone {
		return nil
	}
	if len(spec.Networks) > 0 {
		return errdefs.Invalid("spec.networks", "network mode %s joins no network: a container on the host's network (host) or on none cannot be on overlay networks; drop spec.networks, or use network mode bridge", mode)
	}
	if len(spec.Ports) > 0 {
		if mode == networkHost {
			return errdefs.Invalid("spec.ports", "network mode host publishes no ports: the container listens on the node's own addresses and ports directly "+
				"(Docker ignores -p with --network host; Wharf refuses it rather than ignore it); drop spec.ports, or use network mode bridge")
		}
		return errdefs.Invalid("spec.ports", "network mode none has no network to publish ports from; drop spec.ports, or use network mode bridge")
	}
	if spec.PublishAll {
		return errdefs.Invalid("spec.publish_all", "network mode %s publishes no ports; drop publish_all (-P), or use network mode bridge", mode)
	}
	return nil
}

// validatePorts checks spec.ports and spec.expose: ports 1-65535, host
// addresses that are IP addresses, tcp or udp, no host binding twice, and
// ingress ports with a fixed tcp port.
func validatePorts(spec *api.ServiceSpec) error {
	type binding struct {
		ip    netip.Addr // invalid: every address
		port  int
		proto string
		ctr   int
	}
	var bound []binding
	ingress := map[int]int{} // the router port: the container port
	for i, p := range spec.Ports {
		field := fmt.Sprintf("spec.ports[%d]", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return errdefs.Invalid(field+".container_port", "must be from 1 to 65535, got %d", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return errdefs.Invalid(field+".host_port", "must be from 1 to 65535, or 0 for a free port; got %d", p.HostPort)
		}
		proto := p.Protocol
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp":
		default:
			return errdefs.Invalid(field+".protocol", "must be tcp or udp, got %q", p.Protocol)
		}
		var ip netip.Addr
		if p.HostIP != "" {
			a, err := netip.ParseAddr(p.HostIP)
			if err != nil || a.Zone() != "" {
				return errdefs.Invalid(field+".host_ip", "%q is not an IP address: give the node address to publish on (such as 127.0.0.1), or none for all of them", p.HostIP)
			}
			if !a.IsUnspecified() {
				ip = a
			}
		}
		switch p.Mode {
		case "", api.PortModeHost:
		case api.PortModeIngress:
			switch {
			case p.HostPort == 0:
				return errdefs.Invalid(field+".host_port", "an ingress port needs a fixed published port, the one every router node listens on (published=8080)")
			case proto != "tcp":
				return errdefs.Invalid(field+".protocol", "an ingress port is tcp only (the routers proxy tcp); publish a udp port in host mode")
			case p.HostIP != "":
				return errdefs.Invalid(field+".host_ip", "an ingress port listens on every router node's addresses; host_ip is for host mode ports")
			}
			if prev, dup := ingress[p.HostPort]; dup {
				return errdefs.Invalid(field+".host_port", "ingress port %d is published twice (for container ports %d and %d): a router port takes one", p.HostPort, prev, p.ContainerPort)
			}
			ingress[p.HostPort] = p.ContainerPort
			continue
		default:
			return errdefs.Invalid(field+".mode", "unknown port mode %q: want host (published on the container's node, the default) or ingress (on every router node)", p.Mode)
		}
		b := binding{ip: ip, port: p.HostPort, proto: proto, ctr: p.ContainerPort}
		for _, o := range bound {
			if o.ctr == b.ctr && o.proto == b.proto && o.ip == b.ip && o.port == b.port {
				return errdefs.Invalid(field, "container port %d/%s is published on %s twice", b.ctr, proto, hostAddr(b.ip, b.port))
			}
			// A host port bound on every address clashes with any
			// other binding of it.
			if b.port != 0 && o.port == b.port && o.proto == b.proto && (!o.ip.IsValid() || !b.ip.IsValid() || o.ip == b.ip) {
				return errdefs.Invalid(field+".host_port", "host port %d/%s is published twice (for container ports %d and %d): a host port can take one; pick another host port, or 0 for a free one", p.HostPort, proto, o.ctr, p.ContainerPort)
			}
		}
		bound = append(bound, b)
	}
	for i, p := range spec.Expose {
		field := fmt.Sprintf("spec.expose[%d]", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return errdefs.Invalid(field+".container_port", "must be from 1 to 65535, got %d", p.ContainerPort)
		}
		switch p.Protocol {
		case "", "tcp", "udp":
		default:
			return errdefs.Invalid(field+".protocol", "must be tcp or udp, got %q", p.Protocol)
		}
		if p.HostPort != 0 || p.HostIP != "" || p.Mode != "" {
			return errdefs.Invalid(field, "an exposed port is a container port only (published by publish_all on a free port): move a host port or address to spec.ports")
		}
	}
	return nil
}

// hostAddr is how a message names a host binding.
func hostAddr(ip netip.Addr, port int) string {
	host := "every address"
	if ip.IsValid() {
		host = ip.String()
	}
	if port == 0 {
		return host + " (a free port)"
	}
	return host + " port " + strconv.Itoa(port)
}
