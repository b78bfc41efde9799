package relay

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/wharfhq/wharf/api"
)

// tunMTU is the relay device's MTU: large enough that the kernel never
// fragments a VXLAN packet to it (the networks' MTU is the underlay's).
const tunMTU = 65000

// Relay is a node's relay. Create it with New; its methods are safe for
// concurrent use.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	h      *netlink.Handle
	tun    *os.File
	probeR *os.File     // AF_PACKET on whprobe
	probeW *net.UDPConn // probes and answers, from the underlay
	inject *net.UDPConn // frames to the local VXLAN socket
	bridge *os.File     // AF_PACKET: frames straight into a bridge
	// selfNonce is the last self-probe sent through inject; selfSeen when
	// one last came back (unix nanoseconds): while they do, frames go the
	// VXLAN way, else (a host firewall drops UDP 4789 even from
	// 127.0.0.1) straight into the network's bridge.
	selfNonce, selfSeen atomic.Int64
	bridges             sync.Map // VNI -> bridge ifindex
	p                   *prober
	c                   counters

	up      chan []byte // encoded records for Serve
	changes chan struct{}
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// New makes the relay's devices in the caller's network namespace (the
// TUN device whrelay with the route to RelayAddr, and whprobe) and starts
// capturing and probing. The caller needs CAP_NET_ADMIN.
func New(cfg Config) (*Relay, error) {
	if !cfg.Underlay.IsValid() || !cfg.Underlay.Unmap().Is4() {
		return nil, fmt.Errorf("relay: underlay address %q is not IPv4: give the node's VXLAN address", cfg.Underlay)
	}
	cfg.Underlay = cfg.Underlay.Unmap()
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{cfg: cfg, log: cfg.Log, up: make(chan []byte, 1024), changes: make(chan struct{}, 1), done: make(chan struct{})}
	r.p = newProber()
	var err error
	if r.h, err = netlink.NewHandle(); err != nil {
		return nil, fmt.Errorf("relay: netlink: %w", err)
	}
	if err := r.setup(); err != nil {
		r.teardown()
		return nil, err
	}
	r.wg.Go(r.captureLoop)
	r.wg.Go(r.probeReadLoop)
	r.wg.Go(r.probeLoop)
	return r, nil
}

func (r *Relay) setup() error {
	var err error
	if r.tun, err = openTUN(TUNName); err != nil {
		return err
	}
	link, err := r.h.LinkByName(TUNName)
	if err != nil {
		return fmt.Errorf("relay: find %s: %w", TUNName, err)
	}
	if err := r.h.LinkSetMTU(link, tunMTU); err != nil {
		return fmt.Errorf("relay: set the MTU of %s: %w", TUNName, err)
	}
	if err := r.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("relay: bring %s up: %w", TUNName, err)
	}
	dst := &net.IPNet{IP: RelayAddr.AsSlice(), Mask: net.CIDRMask(32, 32)}
	if err := r.h.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: scopeLink}); err != nil {
		return fmt.Errorf("relay: route %s to %s: %w", RelayAddr, TUNName, err)
	}
	if old, err := r.h.LinkByName(ProbeName); err == nil {
		_ = r.h.LinkDel(old) // a previous agent's: made again with this underlay
	}
	vx := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: ProbeName}, VxlanId: ProbeVNI,
		SrcAddr: r.cfg.Underlay.AsSlice(), Port: vxlanPort, Learning: false}
	if err := r.h.LinkAdd(vx); err != nil {
		return fmt.Errorf("relay: create the probe device %s (VXLAN %d, port %d): %w", ProbeName, ProbeVNI, vxlanPort, err)
	}
	probe, err := r.h.LinkByName(ProbeName)
	if err != nil {
		return fmt.Errorf("relay: find %s: %w", ProbeName, err)
	}
	if err := r.h.LinkSetUp(probe); err != nil {
		return fmt.Errorf("relay: bring %s up: %w", ProbeName, err)
	}
	if r.probeR, err = openPacket(probe.Attrs().Index, probeType); err != nil {
		return err
	}
	if r.probeW, err = net.ListenUDP("udp4", &net.UDPAddr{IP: r.cfg.Underlay.AsSlice()}); err != nil {
		return fmt.Errorf("relay: probe socket on %s: %w", r.cfg.Underlay, err)
	}
	if r.inject, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		return fmt.Errorf("relay: injection socket: %w", err)
	}
	if r.bridge, err = openRawPacket(); err != nil {
		return err
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close stops the relay and removes its devices.
func (r *Relay) Close() error {
	r.once.Do(func() {
		close(r.done)
		r.teardown()
		r.wg.Wait()
		r.h.Close()
	})
	return nil
}

func (r *Relay) teardown() {
	for _, c := range []io.Closer{r.tun, r.probeR, r.probeW, r.inject, r.bridge} {
		if c != nil && !isNil(c) {
			_ = c.Close()
		}
	}
	if l, err := r.h.LinkByName(ProbeName); err == nil {
		_ = r.h.LinkDel(l)
	}
}

func isNil(c io.Closer) bool {
	switch v := c.(type) {
	case *os.File:
		return v == nil
	case *net.UDPConn:
		return v == nil
	}
	return false
}

// SetPeers replaces what the relay knows of the other nodes (PeersFrom).
// The relay keeps p.
func (r *Relay) SetPeers(p Peers) { r.p.set(p, r.cfg.Underlay) }

// Rewrite is st (as the server sent it) with the Address of each relayed
// peer set to RelayAddress: what the agent hands the data plane. st is
// not changed.
func (r *Relay) Rewrite(st api.NetworkState) api.NetworkState { return r.p.rewrite(st) }

// Status is each peer node's path: Direct or Relayed.
func (r *Relay) Status() map[string]string { return r.p.status() }

// Relayed reports whether the agent must point node's entries at
// RelayAddr.
func (r *Relay) Relayed(node string) bool { return r.p.relayed(node) }

// Changes receives a value when a peer's status changed: the agent
// applies its state again.
func (r *Relay) Changes() <-chan struct{} { return r.changes }

// Stats is what the relay did so far.
func (r *Relay) Stats() Stats {
	return Stats{Captured: r.c.captured.Load(), Sent: r.c.sent.Load(), Delivered: r.c.delivered.Load(),
		Dropped: r.c.dropped.Load(), ProbesSent: r.c.probesSent.Load(), AnswersReceived: r.c.answers.Load(), ViaBridge: r.c.viaBridge.Load()}
}

func (r *Relay) notify() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// captureLoop reads the VXLAN packets the kernel sends to RelayAddr.
func (r *Relay) captureLoop() {
	buf := make([]byte, 1<<16)
	for {
		n, err := r.tun.Read(buf)
		if err != nil {
			select {
			case <-r.done:
			default:
				r.log.Error("relay: reading the TUN device failed: relayed traffic stops", "err", err)
			}
			return
		}
		r.c.captured.Add(1)
		c, err := parseCaptured(buf[:n])
		if err != nil {
			r.c.dropped.Add(1)
			continue
		}
		node := r.p.route(c.vni, c.dstIP)
		if node == "" {
			r.c.dropped.Add(1)
			continue
		}
		r.send(node, c.vni, c.frame)
	}
}

// Deliver injects a frame that node sent on vni into the kernel, as if it
// had come over VXLAN. A frame whose source is not one of node's
// containers on vni is refused.
func (r *Relay) Deliver(node string, vni uint32, frame []byte) error {
	if len(frame) < ethHdrLen {
		r.c.dropped.Add(1)
		return errors.New("relay: frame shorter than an Ethernet header")
	}
	src, ok := containerIP(frame[6:12])
	if !ok || !r.p.fromPeer(node, vni, src) {
		r.c.dropped.Add(1)
		return fmt.Errorf("relay: frame from node %s on VNI %d has a source that is not one of its containers", node, vni)
	}
	if err := r.inject1(vni, frame); err != nil {
		r.c.dropped.Add(1)
		return err
	}
	r.c.delivered.Add(1)
	return nil
}

// inject1 injects one frame: through the kernel's VXLAN socket while the
// self-probes show it takes packets from 127.0.0.1, else into the
// network's bridge (the frame then skips the VXLAN device, and the
// bridge, which has not learnt the peer's MAC, floods the replies to its
// ports, the VXLAN device among them).
func (r *Relay) inject1(vni uint32, frame []byte) error {
	if time.Since(time.Unix(0, r.selfSeen.Load())) < missLimit*r.cfg.ProbeInterval {
		b := make([]byte, 0, vxlanHdrLen+len(frame))
		b = appendVXLAN(b, vni)
		b = append(b, frame...)
		if _, err := r.inject.WriteToUDPAddrPort(b, localVXLAN); err != nil {
			return fmt.Errorf("relay: inject: %w", err)
		}
		return nil
	}
	idx, ok := r.bridges.Load(vni)
	if !ok {
		l, err := r.h.LinkByName("whbr" + strconv.FormatUint(uint64(vni), 10))
		if err != nil {
			return fmt.Errorf("relay: no bridge for VNI %d on this node: %w", vni, err)
		}
		idx = l.Attrs().Index
		r.bridges.Store(vni, idx)
	}
	if err := sendPacket(r.bridge, idx.(int), frame); err != nil {
		r.bridges.Delete(vni) // the bridge may have been made again
		return fmt.Errorf("relay: inject into the bridge of VNI %d: %w", vni, err)
	}
	r.c.viaBridge.Add(1)
	return nil
}

var localVXLAN = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), vxlanPort)

// probeLoop sends a probe to every peer each interval.
func (r *Relay) probeLoop() {
	t := time.NewTicker(r.cfg.ProbeInterval)
	defer t.Stop()
	buf := make([]byte, 0, 128)
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		round, flipped := r.p.tick(randUint64)
		if flipped {
			r.log.Info("relay: a peer's path changed", "status", r.p.status())
			r.notify()
		}
		self := int64(randUint64() >> 1)
		r.selfNonce.Store(self)
		buf = appendProbeFrame(buf[:0], probe{kind: probeSelf, nonce: uint64(self), sender: r.cfg.Underlay})
		_, _ = r.inject.WriteToUDPAddrPort(buf, localVXLAN)
		for addr, nonce := range round {
			buf = appendProbeFrame(buf[:0], probe{kind: probeRequest, nonce: nonce, sender: r.cfg.Underlay})
			if _, err := r.probeW.WriteToUDPAddrPort(buf, netip.AddrPortFrom(addr, vxlanPort)); err == nil {
				r.c.probesSent.Add(1)
			}
		}
	}
}

// probeReadLoop answers the peers' probes and records their answers.
func (r *Relay) probeReadLoop() {
	buf := make([]byte, 2048)
	out := make([]byte, 0, 128)
	for {
		n, err := r.probeR.Read(buf)
		if err != nil {
			select {
			case <-r.done:
			default:
				r.log.Error("relay: reading probes failed: peers will be seen as relayed", "err", err)
			}
			return
		}
		p, err := parseProbe(buf[:n])
		if err == nil && p.kind == probeSelf {
			if int64(p.nonce) == r.selfNonce.Load() {
				r.selfSeen.Store(time.Now().UnixNano())
			}
			continue
		}
		if err != nil || !r.p.known(p.sender) {
			continue // not ours, or a stranger: never answered
		}
		switch p.kind {
		case probeRequest:
			out = appendProbeFrame(out[:0], probe{kind: probeAnswer, nonce: p.nonce, sender: r.cfg.Underlay})
			_, _ = r.probeW.WriteToUDPAddrPort(out, netip.AddrPortFrom(p.sender, vxlanPort))
		case probeAnswer:
			if r.p.answer(p.sender, p.nonce) {
				r.c.answers.Add(1)
			}
		}
	}
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// scopeLink is RT_SCOPE_LINK (netlink names it on Linux only).
const scopeLink = netlink.Scope(253)
