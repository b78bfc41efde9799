// Package overlay is a node's VXLAN data plane: for each network a Linux
// bridge (whbr<VNI>, holding the network's gateway address) and a VXLAN
// device (whvx<VNI>) enslaved to it, programmed entirely from the server's
// NetworkState (Flannel's model: no gossip, no multicast, no flooding
// across nodes, no learning).
//
// For every container address a peer node holds, Apply writes three
// entries on the network's VXLAN device:
//
//   - a VXLAN forwarding entry (bridge fdb ... self permanent dst PEER):
//     frames for the container's MAC (api.MACFor) go to the peer's VTEP;
//   - a bridge forwarding entry (bridge fdb ... master static): the bridge
//     sends frames for that MAC to the VXLAN port without flooding its
//     other ports, and the port itself learns nothing;
//   - a permanent neighbour entry (ip neigh ... lladdr MAC nud permanent):
//     the VXLAN device answers ARP for the address itself (proxy ARP), so
//     no ARP request ever leaves the node.
//
// There is deliberately no all-zeros forwarding entry: broadcast, unknown
// unicast and multicast frames that reach the VXLAN device are dropped
// there instead of being copied to every peer. Everything a container
// needs from the wire is known in advance (MACs derive from addresses), and
// ARP for the gateway, which every node's bridge holds, must stay local.
//
// The bridge port of the VXLAN device has learning off and neighbour
// suppression on. Nothing the package creates is torn down by Close or
// when a network leaves the state: containers keep talking while the
// agent is away, and an agent restart with the same state rewrites
// nothing (every change is a diff against what the kernel holds).
package overlay
