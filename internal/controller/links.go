package controller

import (
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// linkEnv returns the Compose-style variables of svc's links for a new
// container named name. For link "db" (or "x:db"), for each container of
// the linked service, by slot N, and each published port P/proto:
//
//	DB_N_PORT_P_PROTO_ADDR  the container's address on the overlay network
//	                        when its node runs the overlay, else the first
//	                        address of its node
//	DB_N_PORT_P_PROTO_PORT  the container's own port on the overlay, else
//	                        the host port
//	DB_N_PORT_P_PROTO_PROTO, DB_N_PORT_P_PROTO (proto://addr:port)
//	DB_N_PORT (the first port's URL), DB_N_NAME (/name/db_N)
//	DB_N_ENV_<VAR> for each variable of the linked service's env
//
// Only containers that run (their host ports are known) get port
// variables; the values are fixed when the container is created. With the
// exec and fake drivers, which publish no ports but hand the workload a
// free one in $PORT, P is that port.
func (c slotReconciler) linkEnv(svc *api.Service, name string) map[string]string {
	env := map[string]string{}
	for _, l := range svc.Spec.Links {
		target, alias, _ := strings.Cut(l, ":")
		if alias == "" {
			alias = target
		}
		linked := c.serviceByName(svc.Org, target)
		if linked == nil {
			continue
		}
		var cts []*api.Container
		for _, ct := range c.cache.byService[linked.ID] {
			if ct.Spec.Desired == api.ContainerRunning {
				cts = append(cts, ct)
			}
		}
		slices.SortFunc(cts, compareContainers)
		pre0 := envName(alias)
		for _, ct := range cts {
			n := strconv.Itoa(ct.Spec.Slot)
			pre := pre0 + "_" + n
			env[pre+"_NAME"] = "/" + name + "/" + strings.ToLower(pre0) + "_" + n
			for k, v := range linked.Spec.Env {
				env[pre+"_ENV_"+envName(k)] = v
			}
			addr, overlay := c.linkAddr(svc, ct)
			if addr == "" {
				continue
			}
			ports := ct.Status.Ports
			if len(ports) == 0 && ct.Status.HostPort != 0 {
				// exec and fake: the workload listens on $PORT itself.
				ports = []api.PortBinding{{ContainerPort: ct.Status.HostPort, HostPort: ct.Status.HostPort, Protocol: "tcp"}}
			}
			for i, b := range ports {
				proto := strings.ToLower(b.Protocol)
				if proto == "" {
					proto = "tcp"
				}
				p := pre + "_PORT_" + strconv.Itoa(b.ContainerPort) + "_" + strings.ToUpper(proto)
				port := b.HostPort
				if overlay {
					port = b.ContainerPort
				}
				url := proto + "://" + addr + ":" + strconv.Itoa(port)
				env[p] = url
				env[p+"_ADDR"] = addr
				env[p+"_PORT"] = strconv.Itoa(port)
				env[p+"_PROTO"] = proto
				if i == 0 {
					env[pre+"_PORT"] = url
				}
			}
		}
	}
	return env
}

// serviceByName is the live service of org named name, or nil.
func (c slotReconciler) serviceByName(org, name string) *api.Service {
	if s := c.cache.services[c.cache.byName[qualName(org, name)]]; s != nil && !s.Terminating {
		return s
	}
	return nil
}

// linkAddr is where a container of a linked service is reached from
// svc's: its address on a network both services join, when its node runs
// the overlay (true), else its node's first address.
func (c slotReconciler) linkAddr(svc *api.Service, ct *api.Container) (string, bool) {
	if n := c.cache.nodes[ct.Spec.Node]; n != nil && n.OverlayAddress != "" {
		for _, att := range ct.Spec.Networks {
			if joins(svc, att.Name) {
				return att.IP, true
			}
		}
	}
	return c.nodeAddr(ct.Spec.Node), false
}

// joins reports whether svc is on the network named name (none named is
// the default network).
func joins(svc *api.Service, name string) bool {
	if len(svc.Spec.Networks) == 0 {
		return name == api.DefaultNetworkName
	}
	return slices.Contains(svc.Spec.Networks, name)
}

func (c slotReconciler) nodeAddr(id string) string {
	if n := c.cache.nodes[id]; n != nil && len(n.Addresses) > 0 {
		return n.Addresses[0]
	}
	return ""
}

// envName turns a name into a variable name: upper case, "_" for anything
// but letters and digits.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}
