package gateway

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// DefaultHeartbeatGrace is how long a node may go without a heartbeat
// before it is marked Unreachable. Agents heartbeat every second; the
// worst gap measured under the lossy-link fault scenario (300±100 ms
// latency, 5% of connections reset each second) is a few seconds, so 8 s
// raises no false alarm there, and it stays below the node-loss grace.
const DefaultHeartbeatGrace = 8 * time.Second

// SessionSilenceFor is how long a session may receive nothing before the
// gateway closes it, given the heartbeat grace: twice the grace, and at
// least minSessionSilence (16 s with the defaults). The agent heartbeats
// every second and gives up a session whose heartbeat goes unanswered for
// 5 s, so a session that carries a live agent is never this silent: one
// that is has lost its agent (host gone, link cut without a FIN or RST),
// and its node has been Unreachable for a grace already. The lossy-link
// scenario's worst silence is under 5 s. This replaces the yamux
// keepalive of the gateway's end (a goroutine per session), which closed
// such a session 10 to 25 s after the agent vanished.
func SessionSilenceFor(grace time.Duration) time.Duration {
	return max(2*grace, minSessionSilence)
}

// minSessionSilence bounds SessionSilenceFor below: above the agent's
// yamux keepalive interval (tunnel.KeepAliveInterval), so whatever its
// heartbeat interval a live agent sends something within it, and a short
// grace (tests, a quick failover setup) does not make the gateway drop
// sessions of agents that are only slow; their nodes go Unreachable on
// time anyway.
const minSessionSilence = 16 * time.Second

// FenceMargin is how much earlier than the node-loss grace an agent fences
// (api.Assignments.FenceAfterMS), both counted from the last heartbeat the
// server heard: the agent then still asks its witnesses (at most one
// second), tries the server once more (a second), and stops its copies
// (a second), with two seconds to spare for a loaded host. The agent
// counts from when it sent its last acknowledged heartbeat, which is never
// later than when the server heard it.
const FenceMargin = 5 * time.Second

// witnessCount is how many witnesses each node is given.
const witnessCount = 3

// fenceAfter is the FenceAfterMS every agent is sent: zero (never fence)
// when the node-loss grace leaves no time for it.
func (g *Gateway) fenceAfter() int64 {
	f := g.cfg.NodeLossGrace - FenceMargin
	if f < 2*time.Second {
		return 0
	}
	return f.Milliseconds()
}

// witnessRing is the Deployed nodes that run a witness listener, sorted by
// ID with their listeners' addresses: each node's witnesses are the ones
// after it on the ring, its askers the ones before it.
type witnessRing struct {
	ids  []string
	addr map[string]string
}

// witnessAddr is where node n's witness listener is reached ("" for none).
func witnessAddr(n *api.Node) string {
	if n == nil || n.State != api.NodeDeployed || n.WitnessPort <= 0 || n.Address == "" {
		return ""
	}
	return net.JoinHostPort(n.Address, strconv.Itoa(n.WitnessPort))
}

// setWitness records node id's witness address ("" drops it); it reports
// whether the ring changed. a.mu must be held.
func (a *assigner) setWitness(id, addr string) bool {
	if a.ring.addr == nil {
		a.ring.addr = map[string]string{}
	}
	old, had := a.ring.addr[id]
	switch {
	case addr == "" && !had, addr != "" && had && old == addr:
		return false
	case addr == "":
		delete(a.ring.addr, id)
		i, _ := slices.BinarySearch(a.ring.ids, id)
		a.ring.ids = slices.Delete(a.ring.ids, i, i+1)
	default:
		a.ring.addr[id] = addr
		if !had {
			i, _ := slices.BinarySearch(a.ring.ids, id)
			a.ring.ids = slices.Insert(a.ring.ids, i, id)
		}
	}
	return true
}

// witnesses returns node's witnesses and askers on the ring; a.mu must be
// held. A node not on the ring (no listener, not Deployed) still gets
// witnesses: it asks others, though nobody asks it.
func (r *witnessRing) witnesses(node string) (ws []api.Witness, askers []string) {
	n := len(r.ids)
	i, on := slices.BinarySearch(r.ids, node)
	others := n
	if on {
		others--
	}
	k := min(witnessCount, others)
	for j := 0; len(ws) < k; j++ {
		id := r.ids[(i+j+boolInt(on))%n]
		ws = append(ws, api.Witness{Node: id, Address: r.addr[id]})
	}
	if !on {
		return ws, nil
	}
	for j := 1; j <= k; j++ {
		askers = append(askers, r.ids[(i-j+n)%n])
	}
	slices.Sort(askers)
	return ws, askers
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// witnessKey sums up what node was last sent about witnesses, to push it
// again only when that changes.
func witnessKey(ws []api.Witness, askers []string) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.Node + "@" + w.Address + ",")
	}
	b.WriteString("|" + strings.Join(askers, ","))
	return b.String()
}

// ringChanged marks dirty every connected node whose witnesses or askers
// changed; a.mu must not be held.
func (a *assigner) ringChanged() {
	a.g.mu.Lock()
	nodes := make([]string, 0, len(a.g.sessions))
	for id := range a.g.sessions {
		nodes = append(nodes, id)
	}
	a.g.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range nodes {
		if witnessKey(a.ring.witnesses(id)) != a.sentWitness[id] {
			a.dirty[id] = true
		}
	}
}
