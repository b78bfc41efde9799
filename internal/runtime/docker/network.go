package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Overlay networks.
//
// A container whose Spec.Networks is not empty runs on one Docker network
// per attachment instead of Docker's default bridge: a network of the
// bridge driver named "wharf-<network>" (networkName) whose Linux bridge is
// the node's bridge for the network (com.docker.network.bridge.name =
// Attachment.Bridge), with the attachment's subnet and gateway as its
// IPAM configuration and its MTU (com.docker.network.driver.mtu). The
// container gets the slot's address and MAC (Attachment.Address,
// Attachment.MAC) on each, the first attachment being its primary network
// (default route) and the others connected before it starts, and the
// attachments' resolvers as its DNS servers, which Docker's embedded DNS
// (127.0.0.11 in the container) forwards to. Published ports work as on
// the default bridge: the engine publishes from the host to the address.
//
// The bridge may exist before the network (the agent's overlay made it,
// with the gateway address on it): Docker's bridge driver then uses it as
// it is, replacing an address other than the gateway's, and never
// deletes it. When it does not exist Docker creates it, and deletes it
// with the network. The driver never removes a network: a network stays
// after its last container is gone, for the slot's next container (remove
// one with `docker network rm` when no container uses it).
//
// A network the driver finds under the name is used when it has the same
// bridge, subnet and gateway; any other is an error naming it, as is a
// subnet overlapping another Docker network of the engine (Docker allows
// no overlap). Engines older than API 1.44 (Docker 25) set a MAC address
// only on a container's primary network: there a container may have one
// attachment only.

// Labels on the networks the driver creates.
const (
	labelNetwork = "wharf.network" // Attachment.Network
	labelBridge  = "wharf.bridge"  // Attachment.Bridge
)

// Options of Docker's bridge driver.
const (
	optBridgeName = "com.docker.network.bridge.name"
	optMTU        = "com.docker.network.driver.mtu"
)

// perEndpointMAC is the first API version that sets a MAC address per
// endpoint (network.EndpointSettings.MacAddress); older engines take one,
// for the primary network, in the container's configuration.
const perEndpointMAC = "1.44"

// networkName is the Docker network of attachments to network name.
func networkName(name string) string { return "wharf-" + name }

// checkAttachments refuses attachments the engine could not use, before
// anything is made.
func checkAttachments(spec runtime.Spec) error {
	seen := make(map[string]bool, len(spec.Networks))
	for i, a := range spec.Networks {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("docker driver: start %s: network attachment %d (%q): %s", spec.ID, i, a.Network, fmt.Sprintf(format, args...))
		}
		switch {
		case a.Network == "" || !validNetworkName(a.Network):
			return bad("a network name is letters, digits, '.', '_' and '-', starting with a letter or digit")
		case seen[a.Network]:
			return bad("the container is attached to this network twice")
		case !a.Address.IsValid() || !a.Address.Addr().Is4():
			return bad("the address %v is not an IPv4 address with a prefix length", a.Address)
		case !a.Gateway.Is4() || !a.Address.Contains(a.Gateway) || a.Gateway == a.Address.Addr():
			return bad("the gateway %v is not another address of %v", a.Gateway, a.Address.Masked())
		case a.DNS.IsValid() && !a.DNS.Is4():
			return bad("the resolver %v is not an IPv4 address", a.DNS)
		case a.MTU < 0 || (a.MTU > 0 && a.MTU < 576):
			return bad("MTU %d is too small (576 at least, 0 for Docker's default)", a.MTU)
		case len(a.Bridge) > 15 || strings.ContainsAny(a.Bridge, "/ \t\n\x00"):
			return bad("bridge name %q is not a Linux interface name", a.Bridge)
		}
		if _, err := net.ParseMAC(a.MAC); err != nil && a.MAC != "" {
			return bad("MAC address %q: %v", a.MAC, err)
		}
		seen[a.Network] = true
	}
	return nil
}

// validNetworkName reports whether s is a name Docker accepts for a
// network once prefixed with "wharf-".
func validNetworkName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// networkConfig is the container's primary network (its first
// attachment) as a NetworkMode and EndpointsConfig, and its DNS servers;
// it is empty when spec has no attachments, the mode alone in network
// mode host or none.
func networkConfig(spec runtime.Spec) (container.NetworkMode, *network.NetworkingConfig, []netip.Addr) {
	if spec.NetworkMode == "host" || spec.NetworkMode == "none" {
		return container.NetworkMode(spec.NetworkMode), nil, nil // ports.go
	}
	if len(spec.Networks) == 0 {
		return "", nil, nil
	}
	first := spec.Networks[0]
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		networkName(first.Network): endpoint(first),
	}}
	var dns []netip.Addr
	for _, a := range spec.Networks {
		if a.DNS.IsValid() && !slices.Contains(dns, a.DNS) {
			dns = append(dns, a.DNS)
		}
	}
	return container.NetworkMode(networkName(first.Network)), nc, dns
}

// endpoint is a container's endpoint on a's network: the slot's address
// and MAC, and no aliases (names are Wharf's resolver's, not Docker's).
func endpoint(a runtime.Attachment) *network.EndpointSettings {
	ep := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: a.Address.Addr()}}
	if mac, err := net.ParseMAC(a.MAC); err == nil {
		ep.MacAddress = network.HardwareAddr(mac)
	}
	return ep
}

// legacyMAC reports whether the engine sets a MAC address only in the
// container's configuration (API below 1.44).
func (d *Driver) legacyMAC() bool {
	return versions.LessThan(d.cli.ClientVersion(), perEndpointMAC)
}

// ensureNetworks makes sure each of spec's attachments has its Docker
// network, creating those that are missing.
func (d *Driver) ensureNetworks(ctx context.Context, spec runtime.Spec, node string) error {
	if len(spec.Networks) == 0 {
		return nil
	}
	if len(spec.Networks) > 1 && d.legacyMAC() {
		return fmt.Errorf("docker driver: start %s: the engine speaks API %s, which sets a MAC address on a container's first network only, and the container is on %d networks; upgrade Docker to 25 or later (API %s), or keep the service on one network",
			spec.ID, d.cli.ClientVersion(), len(spec.Networks), perEndpointMAC)
	}
	// One at a time in this driver: two Starts on a new network must not
	// both create it (older engines allow two networks of one name).
	d.netMu.Lock()
	defer d.netMu.Unlock()
	for _, a := range spec.Networks {
		if err := d.ensureNetwork(ctx, spec.ID, a, node); err != nil {
			return err
		}
	}
	return nil
}

// ensureNetwork uses a's Docker network if it exists and fits, and
// creates it if it does not.
func (d *Driver) ensureNetwork(ctx context.Context, id string, a runtime.Attachment, node string) error {
	name := networkName(a.Network)
	subnet := a.Address.Masked()
	res, err := d.cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return fmt.Errorf("docker driver: start %s: list networks: %w", id, err)
	}
	if n, ok := findNetwork(res.Items, name); ok {
		if err := fitNetwork(id, n, a); err != nil {
			return err
		}
		if mtu := n.Options[optMTU]; a.MTU > 0 && mtu != strconv.Itoa(a.MTU) {
			// A network's options are fixed: its new containers keep its
			// MTU until it is removed and made again.
			d.log.Warn("docker network has another MTU than the overlay's; remove it once no container uses it to change it",
				"network", name, "mtu", mtu, "want", a.MTU)
		}
		return nil
	}
	for _, n := range res.Items {
		if err := overlaps(id, n.Network, a); err != nil {
			return err
		}
	}
	opts := map[string]string{}
	if a.Bridge != "" {
		opts[optBridgeName] = a.Bridge
	}
	if a.MTU > 0 {
		opts[optMTU] = strconv.Itoa(a.MTU)
	}
	created, err := d.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver:  "bridge",
		Options: opts,
		IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{
			Subnet: subnet, Gateway: a.Gateway,
		}}},
		Labels: map[string]string{
			labelManaged: "true",
			labelNode:    node,
			labelNetwork: a.Network,
			labelBridge:  a.Bridge,
		},
	})
	if err != nil {
		// Another driver on this engine may just have made it.
		if again, lerr := d.cli.NetworkList(ctx, client.NetworkListOptions{}); lerr == nil {
			if n, ok := findNetwork(again.Items, name); ok {
				return fitNetwork(id, n, a)
			}
		}
		return fmt.Errorf("docker driver: start %s: create Docker network %s (subnet %v, bridge %s): %w; check `docker network ls` for a network using the subnet or the bridge",
			id, name, subnet, bridgeOrDefault(a.Bridge), err)
	}
	for _, w := range created.Warning {
		d.log.Warn("docker engine warns about a new network", "network", name, "warning", w)
	}
	d.log.Debug("docker network created", "network", name, "subnet", subnet, "bridge", a.Bridge, "docker_id", created.ID)
	return nil
}

// findNetwork returns the network of list named name.
func findNetwork(list []network.Summary, name string) (network.Network, bool) {
	for _, n := range list {
		if n.Name == name {
			return n.Network, true
		}
	}
	return network.Network{}, false
}

// fitNetwork checks that the Docker network n, found under a's name, is
// one a's containers can use: the bridge driver, a's subnet and gateway
// and, if a names one, a's bridge.
func fitNetwork(id string, n network.Network, a runtime.Attachment) error {
	subnet := a.Address.Masked()
	var have []string
	fits := false
	for _, c := range n.IPAM.Config {
		have = append(have, c.Subnet.String())
		if c.Subnet == subnet && (!c.Gateway.IsValid() || c.Gateway == a.Gateway) {
			fits = true
		}
	}
	bridge := n.Options[optBridgeName]
	if n.Driver != "bridge" || !fits || (a.Bridge != "" && bridge != a.Bridge) {
		return fmt.Errorf("docker driver: start %s: Docker network %s exists (driver %s, subnet %s, bridge %s) but network %s is subnet %v, gateway %v, bridge %s on this node; remove it with `docker network rm %s` once no container uses it, and the next start creates it again",
			id, n.Name, n.Driver, strings.Join(have, ", "), bridgeOrDefault(bridge), a.Network, subnet, a.Gateway, bridgeOrDefault(a.Bridge), n.Name)
	}
	return nil
}

// overlaps refuses a's subnet if it overlaps Docker network n's, or a's
// bridge if n uses it: the engine would refuse the network.
func overlaps(id string, n network.Network, a runtime.Attachment) error {
	subnet := a.Address.Masked()
	for _, c := range n.IPAM.Config {
		if c.Subnet.IsValid() && c.Subnet.Overlaps(subnet) {
			return fmt.Errorf("docker driver: start %s: network %s's subnet %v overlaps Docker network %s (subnet %v) on this engine; remove that network (`docker network rm %s`) or give network %s another subnet",
				id, a.Network, subnet, n.Name, c.Subnet, n.Name, a.Network)
		}
	}
	if a.Bridge != "" && n.Options[optBridgeName] == a.Bridge {
		return fmt.Errorf("docker driver: start %s: Docker network %s already uses bridge %s, the bridge of network %s on this node; remove that network (`docker network rm %s`)",
			id, n.Name, a.Bridge, a.Network, n.Name)
	}
	return nil
}

func bridgeOrDefault(b string) string {
	if b == "" {
		return "(Docker's choice)"
	}
	return b
}

// connectNetworks connects the created (not yet started) container
// dockerID to spec's attachments after the first.
func (d *Driver) connectNetworks(ctx context.Context, spec runtime.Spec, dockerID string) error {
	for _, a := range spec.Networks[min(1, len(spec.Networks)):] {
		_, err := d.cli.NetworkConnect(ctx, networkName(a.Network), client.NetworkConnectOptions{
			Container: dockerID, EndpointConfig: endpoint(a),
		})
		if err != nil {
			return fmt.Errorf("docker driver: start %s: connect to Docker network %s with address %v: %w", spec.ID, networkName(a.Network), a.Address.Addr(), err)
		}
	}
	return nil
}
