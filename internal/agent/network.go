package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/netdns"
	"github.com/wharfhq/wharf/internal/overlay"
	"github.com/wharfhq/wharf/internal/relay"
	"github.com/wharfhq/wharf/internal/relay/wire"
	"github.com/wharfhq/wharf/internal/runtime"
)

// netPlane is this node's side of the overlay networks (Config.Overlay):
// the VXLAN data plane (internal/overlay), programmed from the network
// state the server pushes, and the resolver (internal/netdns) that answers
// the containers' names on each network's gateway address. Both keep
// working while the server is away: the kernel holds the data plane, and
// the resolver answers from the last state it had.
type netPlane struct {
	a   *Agent
	dns *netdns.Server

	mu       sync.Mutex
	underlay netip.Addr
	mgr      *overlay.Manager
	mgrErr   error
	// local is the session's local address setUnderlay was last given: a
	// container's attach tries the overlay again from it when it could
	// not be set up then.
	local net.Addr
	// relay carries the traffic to peers whose VXLAN port this node
	// cannot reach through the session (nil when it cannot run here);
	// stopRelay ends the goroutine that follows its changes.
	relay     *relay.Relay
	stopRelay chan struct{}
	state     *api.NetworkState // the last one the server sent
	listen    map[netip.Addr]bool
}

func newNetPlane(a *Agent) *netPlane {
	return &netPlane{a: a, dns: netdns.New(netdns.Config{Log: a.log.With("part", "dns")}), listen: map[netip.Addr]bool{}}
}

// overlayDevice reports whether an interface is one the overlay made (its
// bridges and VXLAN devices, the relay's devices and the exec driver's
// veths): not an address of the node.
func overlayDevice(name string) bool {
	for _, prefix := range []string{"whbr", "whv", "whrelay", "whprobe"} { // whv: the veths, and whvx
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// setUnderlay is called as a session opens, with the local address of its
// connection: the node's VXLAN address, unless --overlay-address names
// one. The data plane is (re)made when the address changes.
func (p *netPlane) setUnderlay(local net.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setUnderlayLocked(local)
}

// setUnderlayLocked is setUnderlay with p.mu held.
func (p *netPlane) setUnderlayLocked(local net.Addr) {
	p.local = local
	addr := p.a.cfg.OverlayAddress
	if addr == "" {
		if tcp, ok := local.(*net.TCPAddr); ok {
			if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
				addr = ip.Unmap().String()
			}
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		p.mgrErr = fmt.Errorf("overlay address %q: %w", addr, err)
		return
	}
	if p.mgr != nil && p.underlay == ip {
		return
	}
	mgr, err := overlay.New(overlay.Config{Underlay: ip, Log: p.a.log.With("part", "overlay")})
	if err != nil {
		p.a.log.Error("the overlay network cannot run on this node", "underlay", ip, "err", err)
		p.mgrErr = err
		return
	}
	if p.mgr != nil {
		p.a.log.Warn("the node's address changed: the overlay follows", "was", p.underlay, "now", ip)
		p.mgr.Close()
	}
	p.mgr, p.mgrErr, p.underlay = mgr, nil, ip
	p.startRelayLocked(ip)
	if p.state != nil {
		p.applyLocked(*p.state)
	}
}

// startRelayLocked (re)makes the relay for the underlay address ip; p.mu
// is held. Without it the node still talks to every peer it reaches.
func (p *netPlane) startRelayLocked(ip netip.Addr) {
	p.stopRelayLocked()
	r, err := relay.New(relay.Config{Underlay: ip, Log: p.a.log.With("part", "relay")})
	if err != nil {
		p.a.log.Error("the overlay relay cannot run on this node: peers it cannot reach directly stay unreachable", "err", err)
		return
	}
	if p.state != nil {
		r.SetPeers(relay.PeersFrom(*p.state, p.a.NodeID()))
	}
	stop := make(chan struct{})
	p.relay, p.stopRelay = r, stop
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-r.Changes():
			}
			p.mu.Lock()
			if p.relay == r && p.state != nil && p.mgr != nil {
				p.a.log.Info("overlay paths changed", "paths", r.Status())
				p.applyLocked(*p.state)
			}
			p.mu.Unlock()
			p.report(context.Background())
		}
	}()
}

// report tells the server which peers this node relays to (for `wharf
// network inspect`), through the current session if there is one.
func (p *netPlane) report(ctx context.Context) {
	s := p.a.currentSession()
	p.mu.Lock()
	r := p.relay
	p.mu.Unlock()
	if s == nil || r == nil {
		return
	}
	rep := api.OverlayReport{Relayed: []string{}}
	for node, via := range r.Status() {
		if via == api.PathRelayed {
			rep.Relayed = append(rep.Relayed, node)
		}
	}
	if err := s.call(ctx, "/agent/v1/overlay", rep, nil, 10*time.Second); err != nil {
		p.a.log.Debug("overlay report not sent", "err", err)
	}
}

// stopRelayLocked closes the relay and ends the goroutine that follows
// it, if there is one; p.mu is held.
func (p *netPlane) stopRelayLocked() {
	if p.relay == nil {
		return
	}
	close(p.stopRelay)
	_ = p.relay.Close()
	p.relay = nil
}

// serveRelay holds the relay's stream through the session s until ctx
// ends, opening it again a second after it breaks.
func (p *netPlane) serveRelay(ctx context.Context, s *agentSession) {
	p.report(ctx)
	for ctx.Err() == nil {
		p.mu.Lock()
		r := p.relay
		p.mu.Unlock()
		if r != nil {
			if err := r.Serve(ctx, s.client, serverHost+wire.Path); err != nil && ctx.Err() == nil {
				p.a.log.Debug("overlay relay stream ended", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// address is the node's VXLAN address for the hello, "" while the data
// plane is not up.
func (p *netPlane) address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mgr == nil {
		return ""
	}
	return p.underlay.String()
}

// attach sets up the node's side of each network a container joins and
// returns the driver's attachments.
func (p *netPlane) attach(atts []api.NetworkAttachment) ([]runtime.Attachment, error) {
	if len(atts) == 0 {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mgr == nil && p.mgrErr != nil && p.local != nil {
		// It failed when the session came up (a device another agent of
		// this host was making at the same moment, say): try again now
		// rather than only at the next session.
		p.setUnderlayLocked(p.local)
	}
	if p.mgr == nil {
		err := p.mgrErr
		if err == nil {
			err = errors.New("not connected to the server yet")
		}
		return nil, fmt.Errorf("the overlay network is not up on this node: %w", err)
	}
	out := make([]runtime.Attachment, 0, len(atts))
	for _, att := range atts {
		subnet, err := netip.ParsePrefix(att.Subnet)
		if err != nil {
			return nil, fmt.Errorf("network %s: subnet %q: %w", att.Name, att.Subnet, err)
		}
		ip, err := netip.ParseAddr(att.IP)
		if err != nil || !subnet.Contains(ip) {
			return nil, fmt.Errorf("network %s: address %q is not in %s", att.Name, att.IP, att.Subnet)
		}
		gw, err := netip.ParseAddr(att.Gateway)
		if err != nil {
			return nil, fmt.Errorf("network %s: gateway %q: %w", att.Name, att.Gateway, err)
		}
		bridge, err := p.mgr.Ensure(att)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", att.Name, err)
		}
		p.listenLocked(gw)
		out = append(out, runtime.Attachment{Network: att.Name, Bridge: bridge, Address: netip.PrefixFrom(ip, subnet.Bits()),
			Gateway: gw, MAC: api.MACFor(ip), MTU: p.mgr.MTU(), DNS: gw})
	}
	return out, nil
}

// listenLocked makes the resolver answer on a network's gateway address;
// p.mu is held. A failure is logged: the containers still run, without
// names.
func (p *netPlane) listenLocked(gw netip.Addr) {
	if p.listen[gw] {
		return
	}
	if err := p.dns.Listen(netip.AddrPortFrom(gw, 53)); err != nil {
		p.a.log.Error("the resolver cannot listen on the network's gateway", "addr", gw, "err", err)
		return
	}
	p.listen[gw] = true
}

// apply takes a network state from the server.
func (p *netPlane) apply(st api.NetworkState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != nil && st.Revision < p.state.Revision {
		return
	}
	changed := p.state == nil || st.Revision != p.state.Revision
	p.state = &st
	p.dns.Update(st.Networks)
	if changed {
		p.save(st)
	}
	if p.relay != nil {
		p.relay.SetPeers(relay.PeersFrom(st, p.a.NodeID()))
	}
	if p.mgr != nil {
		p.applyLocked(st)
	}
}

// applyLocked programs the data plane; p.mu is held and p.mgr set. Peers
// on this node's own address share its bridge (agents of one machine, as
// `wharf up` runs them): they need no tunnel.
func (p *netPlane) applyLocked(st api.NetworkState) {
	self := p.a.NodeID()
	if p.relay != nil {
		st = p.relay.Rewrite(st) // relayed peers' entries point at the relay
	}
	me := p.underlay.String()
	for i := range st.Networks {
		n := &st.Networks[i]
		peers := n.Peers[:0:0]
		for _, peer := range n.Peers {
			if peer.Node != self && peer.Address != me {
				peers = append(peers, peer)
			}
		}
		n.Peers = peers
		if gw, err := netip.ParseAddr(n.Gateway); err == nil && bridgeHere(n.VNI) {
			p.listenLocked(gw)
		}
	}
	if err := p.mgr.Apply(st, self); err != nil {
		p.a.log.Error("program the overlay network", "revision", st.Revision, "err", err)
	}
}

// bridgeHere reports whether the network's bridge exists on this host
// (the resolver listens only on a gateway address some bridge holds).
func bridgeHere(vni int) bool {
	_, err := net.InterfaceByName(overlay.BridgeName(vni))
	return err == nil
}

// stateFile keeps the last network state the server sent, so that a
// restarted agent answers names at once, before (and without) a session.
const stateFile = "network-state.json"

// save writes st to the data dir; p.mu is held.
func (p *netPlane) save(st api.NetworkState) {
	b, err := json.Marshal(st)
	if err == nil {
		err = writeFileAtomic(filepath.Join(p.a.cfg.DataDir, stateFile), b, 0o600)
	}
	if err != nil {
		p.a.log.Warn("the network state is not kept on disk: a restarted agent answers names only once the server is back", "err", err)
	}
}

// restore loads the state a previous run kept and answers its names on
// the gateways whose bridges are here: the containers it adopted keep
// resolving while the agent has no session yet.
func (p *netPlane) restore() {
	b, err := os.ReadFile(filepath.Join(p.a.cfg.DataDir, stateFile))
	if err != nil {
		return
	}
	var st api.NetworkState
	if err := json.Unmarshal(b, &st); err != nil {
		p.a.log.Warn("the kept network state is unreadable; waiting for the server's", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != nil {
		return
	}
	p.state = &st
	p.dns.Update(st.Networks)
	for _, n := range st.Networks {
		if gw, err := netip.ParseAddr(n.Gateway); err == nil && bridgeHere(n.VNI) {
			p.listenLocked(gw)
		}
	}
	p.a.log.Info("answering names from the kept network state", "revision", st.Revision, "networks", len(st.Networks))
}

// close stops the resolver; the data plane stays as it is, so that the
// containers keep talking while the agent is away.
func (p *netPlane) close() {
	p.dns.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopRelayLocked()
	if p.mgr != nil {
		p.mgr.Close()
	}
}

func (s *agentSession) handleNetwork(w http.ResponseWriter, r *http.Request) {
	var st api.NetworkState
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&st); err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad network state: "+err.Error()))
		return
	}
	s.a.net.apply(st)
	w.WriteHeader(http.StatusNoContent)
}
