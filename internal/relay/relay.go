package relay

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api"
)

// RelayAddr is the underlay address the agent gives a relayed peer's
// forwarding entries: the route to it goes into the relay's TUN device.
// It is link-local, so it never leaves the node.
var RelayAddr = netip.MustParseAddr(RelayAddress)

// RelayAddress is RelayAddr as a string (NetworkPeer.Address).
const RelayAddress = "169.254.77.77"

// Device names and the probe network's VNI (below the VNIs the server
// hands out, see internal/netalloc).
const (
	TUNName   = "whrelay"
	ProbeName = "whprobe"
	ProbeVNI  = 1
)

// Status values of a peer.
const (
	Direct  = "direct"
	Relayed = "relayed"
)

const vxlanPort = api.VXLANPort

// Probe thresholds: a peer is relayed after missLimit unanswered probes,
// and direct again after okLimit answered ones in a row.
const (
	missLimit = 3
	okLimit   = 3
)

// Config configures a Relay.
type Config struct {
	// Underlay is the node's VXLAN address (its whvx devices' local).
	Underlay netip.Addr
	// Send, if set, receives every captured frame instead of the stream
	// of Serve (tests join two relays this way). It must not keep frame.
	Send func(node string, vni uint32, frame []byte)
	// ProbeInterval is the time between probes (default 1 s).
	ProbeInterval time.Duration
	// Log receives what the relay does; nil discards it.
	Log *slog.Logger
}

// Peers is what the relay must know of the other nodes.
type Peers struct {
	// Underlay is each peer node's VXLAN address.
	Underlay map[string]netip.Addr
	// Endpoints is, per VNI, each remote container address's node.
	Endpoints map[uint32]map[netip.Addr]string
}

// PeersFrom is the relay's view of a network state as the server sent it
// (before any address is rewritten to RelayAddress); self is this node.
func PeersFrom(st api.NetworkState, self string) Peers {
	p := Peers{Underlay: map[string]netip.Addr{}, Endpoints: map[uint32]map[netip.Addr]string{}}
	for _, n := range st.Networks {
		if n.VNI <= 0 || n.VNI > 1<<24-1 {
			continue
		}
		vni := uint32(n.VNI)
		for _, peer := range n.Peers {
			if peer.Node == self {
				continue
			}
			addr, err := netip.ParseAddr(peer.Address)
			if err != nil || !addr.Is4() {
				continue
			}
			p.Underlay[peer.Node] = addr
			eps := p.Endpoints[vni]
			if eps == nil {
				eps = map[netip.Addr]string{}
				p.Endpoints[vni] = eps
			}
			for _, e := range peer.Endpoints {
				if ip, err := netip.ParseAddr(e); err == nil {
					eps[ip] = peer.Node
				}
			}
		}
	}
	return p
}

// Stats counts what the relay did.
type Stats struct {
	Captured, Sent, Delivered, Dropped uint64
	ProbesSent, AnswersReceived        uint64
	// ViaBridge counts the delivered frames injected into a bridge
	// (the local VXLAN socket dropped the self-probes).
	ViaBridge uint64
}

type counters struct {
	captured, sent, delivered, dropped atomic.Uint64
	probesSent, answers, viaBridge     atomic.Uint64
}

// prober is the per-underlay probe state machine, without I/O.
type prober struct {
	mu     sync.Mutex
	peers  Peers
	byAddr map[netip.Addr]*peerProbe
}

type peerProbe struct {
	relayed        bool
	nonce, prev    uint64
	answered       bool // the current nonce was answered
	sent           bool // a probe is out
	misses, streak int
}

func newProber() *prober {
	return &prober{byAddr: map[netip.Addr]*peerProbe{}}
}

// set replaces the peers, keeping the state of underlays still present.
// Peers on self (agents sharing this machine) are left out: they share
// the node's bridge and are never probed.
func (p *prober) set(peers Peers, self netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for node, a := range peers.Underlay {
		if a == self {
			delete(peers.Underlay, node)
		}
	}
	p.peers = peers
	keep := map[netip.Addr]*peerProbe{}
	for _, a := range peers.Underlay {
		if s := p.byAddr[a]; s != nil {
			keep[a] = s
		} else {
			keep[a] = &peerProbe{}
		}
	}
	p.byAddr = keep
}

// tick closes the last round and starts a new one: it returns the
// underlays to probe with their nonces, and whether a peer flipped.
func (p *prober) tick(nonce func() uint64) (map[netip.Addr]uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[netip.Addr]uint64, len(p.byAddr))
	flipped := false
	for a, s := range p.byAddr {
		if s.sent {
			if s.answered {
				s.misses = 0
				s.streak++
			} else {
				s.misses++
				s.streak = 0
			}
			if !s.relayed && s.misses >= missLimit || s.relayed && s.streak >= okLimit {
				s.relayed = !s.relayed
				flipped = true
			}
		}
		s.prev, s.nonce, s.answered, s.sent = s.nonce, nonce(), false, true
		out[a] = s.nonce
	}
	return out, flipped
}

// answer records an answer from an underlay; it reports whether it was
// one to a probe of the current round.
func (p *prober) answer(from netip.Addr, nonce uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.byAddr[from]
	if s == nil || nonce != s.nonce || !s.sent {
		return false
	}
	s.answered = true
	return true
}

// known reports whether addr is a peer's underlay.
func (p *prober) known(addr netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byAddr[addr] != nil
}

// status is each peer node's "direct" or "relayed".
func (p *prober) status() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.peers.Underlay))
	for node, a := range p.peers.Underlay {
		out[node] = Direct
		if s := p.byAddr[a]; s != nil && s.relayed {
			out[node] = Relayed
		}
	}
	return out
}

// relayed reports whether node's traffic goes through the relay.
func (p *prober) relayed(node string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.byAddr[p.peers.Underlay[node]]
	return s != nil && s.relayed
}

// route is the node a captured frame goes to, "" if none.
func (p *prober) route(vni uint32, dst netip.Addr) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peers.Endpoints[vni][dst]
}

// fromPeer reports whether src is a container of node on vni.
func (p *prober) fromPeer(node string, vni uint32, src netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peers.Endpoints[vni][src] == node
}

// rewrite is st with each relayed peer's Address set to RelayAddress, as
// a copy (st's slices are not changed).
func (p *prober) rewrite(st api.NetworkState) api.NetworkState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := st
	out.Networks = make([]api.NodeNetwork, len(st.Networks))
	for i, n := range st.Networks {
		n.Peers = append([]api.NetworkPeer(nil), n.Peers...)
		for j, peer := range n.Peers {
			if a, ok := p.peers.Underlay[peer.Node]; ok {
				if s := p.byAddr[a]; s != nil && s.relayed {
					n.Peers[j].Address = RelayAddress
				}
			}
		}
		out.Networks[i] = n
	}
	return out
}
