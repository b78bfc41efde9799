package domain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// validateDockerFields checks what only the docker driver uses: entrypoint,
// published ports and resource limits.
func validateDockerFields(spec *api.ServiceSpec) error {
	docker := spec.DriverName() == "docker"
	if len(spec.Entrypoint) > 0 && !docker {
		return errdefs.Invalid("spec.entrypoint", "only the docker driver has an entrypoint; the exec driver runs spec.command as it is")
	}
	if len(spec.Ports) > 0 && !docker {
		return errdefs.Invalid("spec.ports", "the %s driver publishes no ports: it hands each workload a free port in PORT", spec.DriverName())
	}
	seen := map[string]bool{}
	hostPorts := map[string]int{} // "host:PORT/PROTO": the container port
	for i, p := range spec.Ports {
		field := fmt.Sprintf("spec.ports[%d]", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return errdefs.Invalid(field+".container_port", "must be from 1 to 65535, got %d", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return errdefs.Invalid(field+".host_port", "must be from 1 to 65535, or 0 for a free port; got %d", p.HostPort)
		}
		switch p.Protocol {
		case "", "tcp", "udp":
		default:
			return errdefs.Invalid(field+".protocol", "must be tcp or udp, got %q", p.Protocol)
		}
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		key := strconv.Itoa(p.ContainerPort) + "/" + proto
		if seen[key] {
			return errdefs.Invalid(field, "container port %s is published twice", key)
		}
		seen[key] = true
		if p.HostPort == 0 {
			continue
		}
		hostKey := "host:" + strconv.Itoa(p.HostPort) + "/" + proto
		if prev, dup := hostPorts[hostKey]; dup {
			return errdefs.Invalid(field+".host_port", "host port %d/%s is published twice (for container ports %d and %d): a host port can take one; pick another host port, or 0 for a free one", p.HostPort, proto, prev, p.ContainerPort)
		}
		hostPorts[hostKey] = p.ContainerPort
	}
	if spec.Resources.MemoryBytes < 0 || (spec.Resources.MemoryBytes > 0 && spec.Resources.MemoryBytes < 6<<20) {
		return errdefs.Invalid("spec.resources.memory_bytes", "must be 0 (no limit) or at least 6 MiB, got %d", spec.Resources.MemoryBytes)
	}
	if spec.Resources.NanoCPUs < 0 {
		return errdefs.Invalid("spec.resources.nano_cpus", "must be 0 (no limit) or more, got %d", spec.Resources.NanoCPUs)
	}
	return nil
}

// validateArgs checks a command line: no NUL bytes, and a non-empty first
// element when the program comes from it.
func validateArgs(field string, args []string, programFirst bool) error {
	for i, arg := range args {
		if strings.ContainsRune(arg, 0) || (i == 0 && programFirst && strings.TrimSpace(arg) == "") {
			return errdefs.Invalid(field+"["+strconv.Itoa(i)+"]", "must be a non-empty program and arguments without NUL bytes")
		}
	}
	return nil
}
