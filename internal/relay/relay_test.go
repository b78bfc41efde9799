package relay

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/relay/wire"
)

func TestProberFlips(t *testing.T) {
	p := newProber()
	peer := netip.MustParseAddr("10.0.0.2")
	p.set(Peers{Underlay: map[string]netip.Addr{"n2": peer, "same-host": netip.MustParseAddr("10.0.0.1")}}, netip.MustParseAddr("10.0.0.1"))
	if p.known(netip.MustParseAddr("10.0.0.1")) {
		t.Fatal("a peer on this node's own address is probed")
	}
	var n uint64
	nonce := func() uint64 { n++; return n }
	round := func(answer bool) bool {
		r, flipped := p.tick(nonce)
		if answer {
			if !p.answer(peer, r[peer]) {
				t.Fatal("answer to the current probe not taken")
			}
		}
		return flipped
	}
	if p.status()["n2"] != Direct {
		t.Fatal("a new peer is not direct")
	}
	round(false) // first probe out
	round(false) // 1 miss
	if round(false) || p.relayed("n2") {
		t.Fatal("relayed after 2 misses")
	}
	if !round(false) || !p.relayed("n2") { // 3 misses
		t.Fatal("not relayed after 3 misses")
	}
	if p.answer(peer, 12345) {
		t.Fatal("an answer with a wrong nonce was taken")
	}
	if p.answer(netip.MustParseAddr("10.9.9.9"), n) {
		t.Fatal("an answer from a stranger was taken")
	}
	round(true) // answered, counted at the next tick
	round(true) // 1 ok
	if round(true) || !p.relayed("n2") {
		t.Fatal("direct again after 2 answers")
	}
	if !round(true) || p.relayed("n2") || p.status()["n2"] != Direct {
		t.Fatal("not direct after 3 answers in a row")
	}
	for range 4 {
		round(false)
	}
	st := api.NetworkState{Networks: []api.NodeNetwork{{VNI: 4096, Peers: []api.NetworkPeer{{Node: "n2", Address: "10.0.0.2"}, {Node: "n3", Address: "10.0.0.3"}}}}}
	got := p.rewrite(st)
	if got.Networks[0].Peers[0].Address != RelayAddress || got.Networks[0].Peers[1].Address != "10.0.0.3" {
		t.Fatalf("rewrite = %+v, want n2 relayed only", got.Networks[0].Peers)
	}
	if st.Networks[0].Peers[0].Address != "10.0.0.2" {
		t.Fatal("rewrite changed its argument")
	}
	p.set(Peers{}, netip.Addr{})
	if p.known(peer) || len(p.status()) != 0 {
		t.Fatal("a removed peer is still known")
	}
}

func TestParseCaptured(t *testing.T) {
	frame := make([]byte, 60)
	copy(frame, []byte{0x02, 0x77, 10, 7, 0, 3, 0x02, 0x77, 10, 7, 0, 2, 0x08, 0x00})
	build := func(dst netip.Addr, port uint16, frag bool) []byte {
		udpLen := 8 + 8 + len(frame)
		b := make([]byte, 20, 20+udpLen)
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(20+udpLen))
		if frag {
			b[6] = 0x20
		}
		b[8], b[9] = 64, 17
		copy(b[12:16], []byte{10, 0, 0, 1})
		a := dst.As4()
		copy(b[16:20], a[:])
		b = binary.BigEndian.AppendUint16(b, 40000)
		b = binary.BigEndian.AppendUint16(b, port)
		b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
		b = append(b, 0, 0)
		b = appendVXLAN(b, 4096)
		return append(b, frame...)
	}
	c, err := parseCaptured(build(RelayAddr, 4789, false))
	if err != nil || c.vni != 4096 || c.dstIP != netip.MustParseAddr("10.7.0.3") || !bytes.Equal(c.frame, frame) {
		t.Fatalf("parse = %+v, %v", c, err)
	}
	for name, b := range map[string][]byte{
		"other destination": build(netip.MustParseAddr("10.0.0.9"), 4789, false),
		"other port":        build(RelayAddr, 53, false),
		"fragment":          build(RelayAddr, 4789, true),
		"truncated":         build(RelayAddr, 4789, false)[:40],
		"empty":             nil,
	} {
		if _, err := parseCaptured(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	frame[0] = 0xff // broadcast: no container's
	if _, err := parseCaptured(build(RelayAddr, 4789, false)); err == nil {
		t.Error("a broadcast frame was routed")
	}
}

func TestProbeRoundTrip(t *testing.T) {
	b := appendProbeFrame(nil, probe{kind: probeRequest, nonce: 42, sender: netip.MustParseAddr("10.0.0.1")})
	if len(b) < vxlanHdrLen+ethHdrLen+46 || binary.BigEndian.Uint32(b[4:8])>>8 != ProbeVNI {
		t.Fatalf("bad probe packet % x", b)
	}
	p, err := parseProbe(b[vxlanHdrLen+ethHdrLen:])
	if err != nil || p.kind != probeRequest || p.nonce != 42 || p.sender != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("probe = %+v, %v", p, err)
	}
	if _, err := parseProbe(make([]byte, 46)); err == nil {
		t.Fatal("zeros parsed as a probe")
	}
}

func TestPeersFrom(t *testing.T) {
	st := api.NetworkState{Networks: []api.NodeNetwork{{VNI: 4096, Peers: []api.NetworkPeer{
		{Node: "me", Address: "10.0.0.1", Endpoints: []string{"10.7.0.2"}},
		{Node: "n2", Address: "10.0.0.2", Endpoints: []string{"10.7.0.3", "10.7.0.4"}},
		{Node: "bad", Address: "nope", Endpoints: []string{"10.7.0.5"}},
	}}}}
	p := PeersFrom(st, "me")
	if len(p.Underlay) != 1 || p.Underlay["n2"] != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("underlays %v", p.Underlay)
	}
	if p.Endpoints[4096][netip.MustParseAddr("10.7.0.4")] != "n2" || len(p.Endpoints[4096]) != 2 {
		t.Fatalf("endpoints %v", p.Endpoints)
	}
}

func TestWireRoundTrip(t *testing.T) {
	frame := bytes.Repeat([]byte{7}, 100)
	var buf []byte
	var err error
	for _, n := range []string{"a", "node-2"} {
		if buf, err = wire.Append(buf, wire.Record{Node: n, VNI: 4096, Frame: frame}); err != nil {
			t.Fatal(err)
		}
	}
	rd := wire.NewReader(bytes.NewReader(buf))
	for _, n := range []string{"a", "node-2"} {
		rec, err := rd.Read()
		if err != nil || rec.Node != n || rec.VNI != 4096 || !bytes.Equal(rec.Frame, frame) {
			t.Fatalf("record = %+v, %v", rec, err)
		}
	}
	if _, err := wire.Append(nil, wire.Record{Node: "a", Frame: make([]byte, wire.MaxRecord)}); err == nil {
		t.Fatal("an oversized record was encoded")
	}
	if _, err := wire.NewReader(bytes.NewReader([]byte{0, 3, 0, 1, 2})).Read(); err == nil {
		t.Fatal("a malformed record was read")
	}
}
