package fault

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/wharfhq/wharf/test/multihost"
)

// lossyLink is a toxiproxy proxy, run inside the test process, between the
// agents and the server's gateway: the server advertises the host's address
// on the cluster network (the network's gateway IP) as its gateway, the
// proxy listens there on the gateway port and forwards to the server
// container. The agents still join through the API directly; only their
// sessions go through the proxy.
type lossyLink struct {
	proxy *toxiproxy.Proxy
	stop  context.CancelFunc
	done  sync.WaitGroup
}

// gatewayPort is the port `wharf server --agent-addr` listens on in the
// harness, and the proxy's.
const gatewayPort = "7444"

// lossyOptions returns cluster options that put a lossyLink in front of
// the gateway; *l is set once the server answers.
func lossyOptions(t *testing.T, l **lossyLink) multihost.Options {
	return multihost.Options{
		ServerArgs: func(c *multihost.Cluster) []string {
			gw, err := c.GatewayIP()
			if err != nil {
				t.Fatal(err)
			}
			return []string{"--advertise", gw}
		},
		BeforeAgents: func(c *multihost.Cluster) {
			gw, err := c.GatewayIP()
			if err != nil {
				t.Fatal(err)
			}
			srv, err := c.IP(c.Server)
			if err != nil {
				t.Fatal(err)
			}
			*l = startLossyLink(t, net.JoinHostPort(gw, gatewayPort), net.JoinHostPort(srv, gatewayPort))
		},
	}
}

// startLossyLink starts a clean proxy from listen to upstream; it is
// stopped in t.Cleanup.
func startLossyLink(t *testing.T, listen, upstream string) *lossyLink {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "gateway", listen, upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy on %s (the containers reach the test process there): %v", listen, err)
	}
	l := &lossyLink{proxy: p, stop: func() {}}
	t.Cleanup(l.close)
	return l
}

// degrade adds the toxics on the agent-to-server stream: latency with
// jitter on every byte, and resets: each second, every connection through
// the proxy is reset with probability resetP (toxiproxy draws a toxic's
// toxicity per connection each time the toxic is (re)started, so the test
// restarts the reset toxic every second).
func (l *lossyLink) degrade(t *testing.T, latency, jitter time.Duration, resetP float64) {
	t.Helper()
	add := func(js string) {
		if _, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			t.Fatalf("toxic %s: %v", js, err)
		}
	}
	add(fmt.Sprintf(`{"name":"latency","type":"latency","stream":"upstream","toxicity":1,"attributes":{"latency":%d,"jitter":%d}}`,
		latency.Milliseconds(), jitter.Milliseconds()))
	reset := fmt.Sprintf(`{"name":"reset","type":"reset_peer","stream":"upstream","toxicity":%g,"attributes":{"timeout":0}}`, resetP)
	add(reset)
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_, _ = l.proxy.Toxics.UpdateToxicJson("reset", strings.NewReader(fmt.Sprintf(`{"toxicity":%g,"attributes":{"timeout":0}}`, resetP)))
			}
		}
	}()
}

// clean removes every toxic; the proxy goes on forwarding.
func (l *lossyLink) clean() {
	l.stop()
	l.done.Wait()
	l.proxy.Toxics.ResetToxics(context.Background())
}

func (l *lossyLink) close() {
	l.clean()
	l.proxy.Stop()
}
