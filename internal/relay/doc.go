// Package relay carries a node's overlay (VXLAN) traffic to the peers it
// cannot reach directly through the agent's session with the server, so
// that nodes behind NAT or a firewall that drops UDP 4789 still talk,
// with no inbound port opened on them.
//
// Three parts, all on the node:
//
//   - Capture: a TUN device, whrelay, holds the route to RelayAddr. The
//     agent points the FDB entries of a relayed peer's containers at
//     RelayAddr instead of the peer's underlay address, so the kernel
//     encapsulates their frames as usual and sends them into the TUN; the
//     relay reads each VXLAN packet, finds the destination node from the
//     inner destination MAC (api.MACFor) and hands the frame to the server.
//   - Inject: a frame from the server is sent as a VXLAN datagram to
//     127.0.0.1:4789; the kernel's VXLAN socket (bound to every address)
//     decapsulates it into the network's VXLAN device as if the peer had
//     sent it. A host firewall that drops UDP 4789 on every interface
//     drops that too: the relay sends itself a probe that way every
//     interval, and while none comes back it writes the frames straight
//     into the network's bridge (whbr<VNI>) with an AF_PACKET socket.
//   - Probe: a VXLAN device whprobe (ProbeVNI, no bridge) receives the
//     probes of the other nodes' relays; every second each peer's
//     underlay:4789 is sent a request, which it answers the same way. A
//     peer that answered none of the last 3 is relayed; a relayed peer
//     that answers 3 in a row is direct again.
//
// The stream to the server (Serve) is one long HTTP request over the
// session, framed by package wire; the gateway forwards frames between
// nodes of the same organization only.
package relay
