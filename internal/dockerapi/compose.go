package dockerapi

// What docker-compose's container create needs beyond docker run's: the
// network alias it gives every container (its compose service's name),
// and its "<project>_<network>" network names (see wharfNetworkName).

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// composeServiceLabel is the label docker-compose puts on a container: the
// compose service it belongs to.
const composeServiceLabel = "com.docker.compose.service"

// unservedAliases are the aliases of ep Wharf cannot give: all but the
// name of the compose service of a container docker-compose creates
// (labels), which docker-compose sets on every container. That one is
// accepted and not served (docs/docker-api.md, "docker-compose": the
// containers reach each other by their container names, or deploy the
// file as a stack, `wharf stack deploy`, whose services answer by their
// names).
func unservedAliases(labels map[string]string, ep *network.EndpointSettings) []string {
	if ep == nil {
		return nil
	}
	svc, compose := labels[composeServiceLabel]
	var out []string
	for _, a := range ep.Aliases {
		if !compose || a != svc {
			out = append(out, a)
		}
	}
	return slices.Clip(out)
}

// noAddresses tells whether an endpoint's IPAM config asks for no address
// (docker-compose sends an empty one).
func noAddresses(c *network.EndpointIPAMConfig) bool {
	return c == nil || !c.IPv4Address.IsValid() && !c.IPv6Address.IsValid() && len(c.LinkLocalIPs) == 0
}

// anonymousVolumes are the targets of a create's Config.Volumes that no
// bind or mount of HostConfig covers: docker-compose lists a service's
// named volumes' targets there too, which are no anonymous volumes.
func anonymousVolumes(volumes map[string]struct{}, binds []string, mounts []mount.Mount) []string {
	covered := map[string]bool{}
	for _, b := range binds {
		if parts := strings.Split(b, ":"); len(parts) >= 2 {
			covered[parts[1]] = true
		}
	}
	for _, m := range mounts {
		covered[m.Target] = true
	}
	var out []string
	for _, t := range slices.Sorted(maps.Keys(volumes)) {
		if !covered[t] {
			out = append(out, t)
		}
	}
	return out
}
