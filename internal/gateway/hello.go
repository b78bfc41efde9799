package gateway

import (
	"net/netip"
	"slices"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Bounds on what an agent's hello may say of its node. The agent holds a
// node certificate, but what it reports is still outside input: it lands
// in the node object that every client reads.
const (
	maxHelloAddresses = 64
	maxHelloText      = 256
	maxHelloDrivers   = 8
	// maxHelloFeatures bounds the protocol features an agent may name;
	// ones this server does not know are allowed (a newer agent), and
	// only looked up, never stored.
	maxHelloFeatures = 32
)

// validateHello checks the facts a hello reports, as validateJoin checks
// a join.
func validateHello(h api.AgentHello) error {
	if !hostnameRe.MatchString(h.Hostname) {
		return errdefs.Invalid("hostname", "%q is not a valid host name", h.Hostname)
	}
	if len(h.Addresses) > maxHelloAddresses {
		return errdefs.Invalid("addresses", "at most %d addresses, got %d", maxHelloAddresses, len(h.Addresses))
	}
	for _, a := range h.Addresses {
		if _, err := netip.ParseAddr(a); err != nil {
			return errdefs.Invalid("addresses", "%q is not an IP address", a)
		}
	}
	if h.OverlayAddress != "" {
		a, err := netip.ParseAddr(h.OverlayAddress)
		if err != nil || !a.Is4() || a.IsUnspecified() || a.IsMulticast() {
			return errdefs.Invalid("overlay_address", "%q is not an IPv4 unicast address", h.OverlayAddress)
		}
	}
	if h.Address != "" {
		a, err := netip.ParseAddr(h.Address)
		if err != nil || a.IsUnspecified() || a.IsMulticast() {
			return errdefs.Invalid("address", "%q is not a unicast IP address", h.Address)
		}
	}
	for field, v := range map[string]string{"os": h.OS, "kernel": h.Kernel, "arch": h.Arch,
		"agent_version": h.AgentVersion, "engine_version": h.EngineVersion} {
		if len(v) > maxHelloText || !printable(v) {
			return errdefs.Invalid(field, "want up to %d printable characters", maxHelloText)
		}
	}
	if h.CPUs < 0 || h.MemoryBytes < 0 || h.DiskBytes < 0 {
		return errdefs.Invalid("cpus", "cpus, memory_bytes and disk_bytes must not be negative")
	}
	if len(h.Features) > maxHelloFeatures {
		return errdefs.Invalid("features", "at most %d features, got %d", maxHelloFeatures, len(h.Features))
	}
	for _, f := range h.Features {
		if len(f) > maxHelloText || !printable(f) {
			return errdefs.Invalid("features", "want up to %d printable characters each", maxHelloText)
		}
	}
	if len(h.Drivers) > maxHelloDrivers {
		return errdefs.Invalid("drivers", "at most %d drivers", maxHelloDrivers)
	}
	for _, d := range h.Drivers {
		if !slices.Contains(api.Drivers, d) {
			return errdefs.Invalid("drivers", "unknown driver %q (known: %v)", d, api.Drivers)
		}
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
