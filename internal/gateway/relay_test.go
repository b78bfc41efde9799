package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/relay/wire"
	"github.com/wharfhq/wharf/internal/tunnel"
)

// relayTestState: org "a" has nodes a1, a2 and network VNI 4096; org "b"
// has node b1 and VNI 4097; node a3 (org "a") runs no overlay.
func relayTestState() *netState {
	n := newNetState(nil)
	n.node("a1", &api.Node{Meta: api.Meta{ID: "a1", Org: "a"}, OverlayAddress: "10.0.0.1"})
	n.node("a2", &api.Node{Meta: api.Meta{ID: "a2", Org: "a"}, OverlayAddress: "10.0.0.2"})
	n.node("a3", &api.Node{Meta: api.Meta{ID: "a3", Org: "a"}})
	n.node("b1", &api.Node{Meta: api.Meta{ID: "b1", Org: "b"}, OverlayAddress: "10.0.0.3"})
	add := func(id, org, node string, vni int, ip string) {
		c := &api.Container{Meta: api.Meta{ID: id, Org: org}}
		c.Spec.Node, c.Spec.Desired = node, api.ContainerRunning
		c.Status.State = api.ContainerRunning
		c.Spec.Networks = []api.NetworkAttachment{{Network: org + ".default", Name: "default", VNI: vni, Subnet: "10.7.0.0/16", Gateway: "10.7.0.1", IP: ip}}
		n.container(id, c)
	}
	add("c1", "a", "a1", 4096, "10.7.0.2")
	add("c2", "a", "a2", 4096, "10.7.0.3")
	add("c3", "b", "b1", 4097, "10.7.0.2")
	return n
}

func testFrame(tag byte) []byte {
	f := make([]byte, 60)
	copy(f, []byte{0x02, 0x77, 10, 7, 0, 3, 0x02, 0x77, 10, 7, 0, 2, 0x08, 0x00})
	f[59] = tag
	return f
}

func TestRelayHubIsolation(t *testing.T) {
	h := newRelayHub(relayTestState())
	links := map[string]*relayLink{}
	for _, n := range []string{"a2", "a3", "b1"} {
		links[n] = &relayLink{out: make(chan []byte, 4), done: make(chan struct{})}
		h.links[n] = links[n]
	}
	forwarded := relayStats{Forwarded: 1}
	cases := []struct {
		name, src, dst string
		vni            uint32
		want           relayStats // what the frame adds to the counters
	}{
		{"same org, its VNI", "a1", "a2", 4096, forwarded},
		{"to another org's node", "a1", "b1", 4096, relayStats{DropOrg: 1}},
		{"from another org's node", "b1", "a2", 4097, relayStats{DropOrg: 1}},
		{"another org's VNI", "a1", "a2", 4097, relayStats{DropVNI: 1}},
		{"a VNI nobody has", "a1", "a2", 9999, relayStats{DropVNI: 1}},
		{"to a node without overlay", "a1", "a3", 4096, relayStats{DropOrg: 1}},
		{"to an unknown node", "a1", "zz", 4096, relayStats{DropOrg: 1}},
		{"to itself", "a1", "a1", 4096, relayStats{DropOrg: 1}},
		{"from a node without overlay", "a3", "a2", 4096, relayStats{DropOrg: 1}},
	}
	for _, c := range cases {
		before := h.stats()
		h.route(c.src, wire.Record{Node: c.dst, VNI: c.vni, Frame: testFrame(1)})
		after := h.stats()
		got := relayStats{Forwarded: after.Forwarded - before.Forwarded, DropOrg: after.DropOrg - before.DropOrg,
			DropVNI: after.DropVNI - before.DropVNI, DropOffline: after.DropOffline - before.DropOffline, DropFull: after.DropFull - before.DropFull}
		if got != c.want {
			t.Errorf("%s: counters moved by %+v, want %+v", c.name, got, c.want)
		}
	}
	// Only the one allowed frame reached a queue, tagged with its source.
	if len(links["b1"].out) != 0 || len(links["a3"].out) != 0 {
		t.Fatalf("a frame reached another org's node or a node without overlay")
	}
	if len(links["a2"].out) != 1 {
		t.Fatalf("a2 has %d frames queued, want 1", len(links["a2"].out))
	}
	rec, err := wire.NewReader(bytes.NewReader(<-links["a2"].out)).Read()
	if err != nil || rec.Node != "a1" || rec.VNI != 4096 || !bytes.Equal(rec.Frame, testFrame(1)) {
		t.Fatalf("forwarded record = %+v, %v; want from a1 on 4096 with the frame", rec, err)
	}

	// A full queue drops; a node without a stream drops.
	for range cap(links["a2"].out) + 2 {
		h.route("a1", wire.Record{Node: "a2", VNI: 4096, Frame: testFrame(2)})
	}
	if s := h.stats(); s.DropFull != 2 {
		t.Fatalf("full queue: %d dropped, want 2", s.DropFull)
	}
	delete(h.links, "a2")
	h.route("a1", wire.Record{Node: "a2", VNI: 4096, Frame: testFrame(3)})
	if s := h.stats(); s.DropOffline != 1 {
		t.Fatalf("offline node: %d dropped, want 1", s.DropOffline)
	}
}

// TestRelayHubStream runs two nodes' streams over HTTP/1.1 (as over the
// session) and sends a frame each way, then one across organizations.
func TestRelayHubStream(t *testing.T) {
	h := newRelayHub(relayTestState())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(r.Header.Get("X-Test-Node"), w, r)
	}))
	t.Cleanup(srv.Close)
	type stream struct {
		up   *io.PipeWriter
		down *wire.Reader
	}
	open := func(node string) stream {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+wire.Path, pr)
		req.Header.Set("X-Test-Node", node)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("open %s's stream: %v", node, err)
		}
		t.Cleanup(func() { pw.Close(); resp.Body.Close() })
		return stream{up: pw, down: wire.NewReader(resp.Body)}
	}
	a1, a2, b1 := open("a1"), open("a2"), open("b1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.links)
		h.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d streams registered, want 3", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	send := func(s stream, to string, vni uint32, tag byte) {
		b, err := wire.Append(nil, wire.Record{Node: to, VNI: vni, Frame: testFrame(tag)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.up.Write(b); err != nil {
			t.Fatalf("write up: %v", err)
		}
	}
	recv := func(s stream, from string, tag byte) {
		done := make(chan struct{})
		var rec wire.Record
		var err error
		go func() { rec, err = s.down.Read(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("no frame from %s within 5s", from)
		}
		if err != nil || rec.Node != from || rec.Frame[59] != tag {
			t.Fatalf("got %+v, %v; want frame %d from %s", rec, err, tag, from)
		}
	}
	send(b1, "a2", 4097, 9) // refused: another org
	send(a1, "a2", 4096, 1)
	recv(a2, "a1", 1)
	send(a2, "a1", 4096, 2)
	recv(a1, "a2", 2)
	// b1's frame is read by its own stream's goroutine: wait for it.
	for deadline := time.Now().Add(5 * time.Second); h.stats().DropOrg == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if s := h.stats(); s.Forwarded != 2 || s.DropOrg != 1 {
		t.Fatalf("stats %+v, want 2 forwarded and 1 dropped across orgs", s)
	}
}

// TestRelayOverSession sends a frame from a1 to a2 through the route of
// real sessions (yamux, as the agents' connections carry it).
func TestRelayOverSession(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler), sessions: map[string]*session{}, nodes: map[string]*nodeLive{}, agentRoutes: agentRoutes()}
	g.net = relayTestState()
	open := func(node string) (*io.PipeWriter, *wire.Reader) {
		srvMux, cliMux := sessionPair(t, g.log)
		s := newSession(g, node, "1", srvMux)
		go func() { _ = s.srv.Serve(srvMux) }()
		client := tunnel.HTTPClient(cliMux, 1)
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, "http://gateway"+wire.Path, pr)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("open %s's relay stream: %v", node, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s's relay stream: %s", node, resp.Status)
		}
		t.Cleanup(func() { pw.Close(); resp.Body.Close(); s.close(); cliMux.Close() })
		return pw, wire.NewReader(resp.Body)
	}
	up1, _ := open("a1")
	_, down2 := open("a2")
	b, _ := wire.Append(nil, wire.Record{Node: "a2", VNI: 4096, Frame: testFrame(5)})
	if _, err := up1.Write(b); err != nil {
		t.Fatal(err)
	}
	got := make(chan wire.Record, 1)
	go func() {
		rec, err := down2.Read()
		if err == nil {
			rec.Frame = append([]byte(nil), rec.Frame...)
			got <- rec
		}
	}()
	select {
	case rec := <-got:
		if rec.Node != "a1" || rec.VNI != 4096 || rec.Frame[59] != 5 {
			t.Fatalf("a2 got %+v, want frame 5 from a1", rec)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a2 got nothing within 5s")
	}
}
