package domain

import (
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// validateDockerFields checks what only the docker driver uses: entrypoint,
// published and exposed ports, resource limits, a terminal (tty) and an open input (interactive); and the network mode,
// which the exec driver knows too (validate_ports.go).
func validateDockerFields(spec *api.ServiceSpec) error {
	docker := spec.DriverName() == "docker"
	if len(spec.Entrypoint) > 0 && !docker {
		return errdefs.Invalid("spec.entrypoint", "only the docker driver has an entrypoint; the exec driver runs spec.command as it is")
	}
	if len(spec.Ports) > 0 && !docker {
		return errdefs.Invalid("spec.ports", "the %s driver publishes no ports: it hands each workload a free port in PORT", spec.DriverName())
	}
	if len(spec.Expose) > 0 && !docker {
		return errdefs.Invalid("spec.expose", "the %s driver exposes no ports: it hands each workload a free port in PORT", spec.DriverName())
	}
	if spec.PublishAll && !docker {
		return errdefs.Invalid("spec.publish_all", "the %s driver publishes no ports: it hands each workload a free port in PORT", spec.DriverName())
	}
	if spec.TTY && !docker {
		return errdefs.Invalid("spec.tty", "only the docker driver gives a container a terminal; the %s driver's workloads have none: drop tty", spec.DriverName())
	}
	if spec.Interactive && !docker {
		return errdefs.Invalid("spec.interactive", "only the docker driver keeps a container's input open to attach to; the %s driver's workloads read none: drop interactive", spec.DriverName())
	}
	if err := validateNetworkMode(spec); err != nil {
		return err
	}
	if err := validatePorts(spec); err != nil {
		return err
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
