package relay

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Probe frames: an Ethernet frame of ethertype probeType on ProbeVNI whose
// payload is magic, kind, nonce and the sender's underlay address.
const (
	probeType    = 0x88B5
	probeRequest = 1
	probeAnswer  = 2
	probeSelf    = 3 // to this node, through 127.0.0.1
	probeLen     = 4 + 1 + 8 + 4
	vxlanHdrLen  = 8
	ethHdrLen    = 14
	vxlanFlagI   = 0x08
)

var probeMagic = [4]byte{'W', 'H', 'R', 'P'}

// probeSrcMAC is the source MAC of probe frames (locally administered).
var probeSrcMAC = [6]byte{0x02, 0x77, 0xff, 0xff, 0xff, 0x01}

// appendVXLAN appends a VXLAN header for vni.
func appendVXLAN(b []byte, vni uint32) []byte {
	b = append(b, vxlanFlagI, 0, 0, 0)
	return binary.BigEndian.AppendUint32(b, vni<<8)
}

// probe is a decoded probe payload.
type probe struct {
	kind   byte
	nonce  uint64
	sender netip.Addr
}

// appendProbeFrame appends a VXLAN packet (header and frame) carrying p.
func appendProbeFrame(b []byte, p probe) []byte {
	b = appendVXLAN(b, ProbeVNI)
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	b = append(b, probeSrcMAC[:]...)
	b = binary.BigEndian.AppendUint16(b, probeType)
	start := len(b)
	b = append(b, probeMagic[:]...)
	b = append(b, p.kind)
	b = binary.BigEndian.AppendUint64(b, p.nonce)
	a := p.sender.As4()
	b = append(b, a[:]...)
	for len(b)-start < 46 { // Ethernet's minimum payload
		b = append(b, 0)
	}
	return b
}

// parseProbe decodes a probe payload (the frame after its Ethernet header).
func parseProbe(b []byte) (probe, error) {
	if len(b) < probeLen || [4]byte(b[:4]) != probeMagic {
		return probe{}, errors.New("not a relay probe")
	}
	p := probe{kind: b[4], nonce: binary.BigEndian.Uint64(b[5:13]), sender: netip.AddrFrom4([4]byte(b[13:17]))}
	if p.kind != probeRequest && p.kind != probeAnswer && p.kind != probeSelf {
		return probe{}, errors.New("relay probe of unknown kind")
	}
	return p, nil
}

// captured is a VXLAN packet the kernel sent to RelayAddr.
type captured struct {
	vni   uint32
	frame []byte
	dstIP netip.Addr // the inner destination MAC's container address
}

// parseCaptured decodes an IPv4/UDP/VXLAN packet read from the TUN
// device; the frame aliases b.
func parseCaptured(b []byte) (captured, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return captured{}, errors.New("not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl || total > len(b) {
		return captured{}, errors.New("bad IPv4 header")
	}
	if b[9] != 17 {
		return captured{}, errors.New("not UDP")
	}
	if binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 {
		return captured{}, errors.New("IPv4 fragment (the relay device's MTU is too small)")
	}
	if netip.AddrFrom4([4]byte(b[16:20])) != RelayAddr {
		return captured{}, errors.New("not addressed to the relay address")
	}
	u := b[ihl:total]
	if len(u) < 8+vxlanHdrLen+ethHdrLen || binary.BigEndian.Uint16(u[2:4]) != vxlanPort {
		return captured{}, errors.New("not a VXLAN datagram")
	}
	v := u[8:]
	if v[0]&vxlanFlagI == 0 {
		return captured{}, errors.New("VXLAN header without a VNI")
	}
	c := captured{vni: binary.BigEndian.Uint32(v[4:8]) >> 8, frame: v[vxlanHdrLen:]}
	ip, ok := containerIP(c.frame[0:6])
	if !ok {
		return captured{}, errors.New("destination MAC is not a container's")
	}
	c.dstIP = ip
	return c, nil
}

// containerIP is the address api.MACFor gave mac (02:77:a.b.c.d).
func containerIP(mac []byte) (netip.Addr, bool) {
	if len(mac) < 6 || mac[0] != 0x02 || mac[1] != 0x77 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(mac[2:6])), true
}
