package docker

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestNetworkDNS: a container's lookups reach the network's resolver (the
// node's, on the gateway address) through Docker's embedded DNS, short
// names included.
func TestNetworkDNS(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t)
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "netdns-"+t.Name())
	a := attachment(net1, "wxn"+randHex(4), subnet, 30)
	s := spec(image, "dns1")
	s.Networks = []wrt.Attachment{a}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	// The node's resolver, as the agent runs it: here one that answers
	// every A question with answer.
	answer := netip.AddrFrom4([4]byte{10, 214, 0, 99})
	asked := serveDNS(t, netip.AddrPortFrom(a.DNS, 53), answer)

	in, err := cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dial := inNetns(in.Container.State.Pid)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx, "udp", "127.0.0.11:53") // Docker's embedded DNS
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := r.LookupNetIP(ctx, "ip4", "db")
	if err != nil || len(got) != 1 || got[0] != answer {
		t.Fatalf("lookup of db in the container = %v, %v; want %v from the network's resolver", got, err, answer)
	}
	select {
	case q := <-asked:
		if !strings.HasPrefix(q, "db.") {
			t.Errorf("the resolver was asked %q, want db", q)
		}
	default:
		t.Error("the network's resolver was not asked")
	}
}

// serveDNS answers DNS questions on udp addr until the test ends: an A
// question with answer, others with no records. It sends each question's
// name to the channel it returns, if there is room.
func serveDNS(t *testing.T, addr netip.AddrPort, answer netip.Addr) <-chan string {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("listen for DNS on %v: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	asked := make(chan string, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			name, reply, ok := dnsReply(buf[:n], answer)
			if !ok {
				continue
			}
			select {
			case asked <- name:
			default:
			}
			_, _ = pc.WriteToUDPAddrPort(reply, from)
		}
	}()
	return asked
}

// dnsReply parses a DNS query of one question and returns its name and a
// reply: answer for an A question, no records for any other.
func dnsReply(q []byte, answer netip.Addr) (string, []byte, bool) {
	if len(q) < 12 || q[4] != 0 || q[5] != 1 { // one question
		return "", nil, false
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return "", nil, false
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // the root label
	if i+4 > len(q) {
		return "", nil, false
	}
	qtype := int(q[i])<<8 | int(q[i+1])
	question := q[12 : i+4]
	reply := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
	if qtype == 1 {
		reply[7] = 1 // one answer
		a := answer.As4()
		// A pointer to the question's name, A, IN, TTL 5, 4 bytes.
		reply = append(reply, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, a[0], a[1], a[2], a[3])
	}
	return strings.Join(labels, ".") + ".", reply, true
}
