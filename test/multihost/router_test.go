package multihost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hello"
	"github.com/wharfhq/wharf/test/load"
)

// routerCluster starts three agents, labels node-1 a router and returns
// the cluster and node-1's address, where the router listens on 80.
func routerCluster(t *testing.T) (*Cluster, string) {
	t.Helper()
	RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	c := StartClusterWith(t, build, Options{Agents: 3, ServerArgs: func(*Cluster) []string {
		return []string{"--heartbeat-grace", "8s", "--node-loss-grace", "5s"}
	}})
	c.Wharf("node", "label", "node-1", "wharf.router=true")
	ip, err := c.IP(c.Agents[0])
	if err != nil {
		t.Fatal(err)
	}
	return c, ip
}

// routerReaches sends n requests for host's root to the router at addr and
// fails unless they reached want different containers.
func routerReaches(addr, host string, n, want int) error {
	seen := map[string]bool{}
	for range n {
		r, _, err := routerGet(addr, host, "/")
		if err != nil {
			return err
		}
		seen[r.Container] = true
	}
	if len(seen) != want {
		return fmt.Errorf("%d requests to %s reached %v, want %d containers", n, host, seen, want)
	}
	return nil
}

// routerGet sends one request to the router at addr with host as its Host
// header and decodes hello's answer.
func routerGet(addr, host, path string) (hello.Reply, int, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return hello.Reply{}, 0, err
	}
	req.Host = host
	req.Header.Set("Accept", "application/json")
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return hello.Reply{}, 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return hello.Reply{}, resp.StatusCode, fmt.Errorf("%s%s on %s: %s: %s", host, path, addr, resp.Status, strings.TrimSpace(string(body)))
	}
	var r hello.Reply
	if err := json.Unmarshal(body, &r); err != nil {
		return r, resp.StatusCode, fmt.Errorf("%s%s: %w: %q", host, path, err, body)
	}
	return r, resp.StatusCode, nil
}

// TestRouterRoutes: a router node sends requests by host and path to the
// ready containers of services on the other nodes, balanced across them,
// with the client's address in X-Forwarded-For; a tcp route reaches its
// service; an unknown host is a 404; `wharf router ls` shows it all.
func TestRouterRoutes(t *testing.T) {
	c, ip := routerCluster(t)
	c.Wharf("service", "create", "--detach", "--name", "web", "--replicas", "2", "--route", "web.test", "--", "/wharf", "hello")
	c.Wharf("service", "create", "--detach", "--name", "api", "--route", "web.test/api", "--", "/wharf", "hello")
	c.Wharf("service", "create", "--detach", "--name", "raw", "--route", "tcp://9000", "--", "/wharf", "hello")
	for svc, n := range map[string]int{"web": 2, "api": 1, "raw": 1} {
		c.WaitRunning(svc, n, 60*time.Second)
	}
	addr := net.JoinHostPort(ip, "80")
	// Each backend reaches the router on its own (containers become ready
	// apart, and the route table is pushed in bursts): wait for all three,
	// not only the first.
	Eventually(t, 20*time.Second, "the router serves web.test from both and web.test/api", func() error {
		if err := routerReaches(addr, "web.test", 8, 2); err != nil {
			return err
		}
		r, _, err := routerGet(addr, "web.test", "/api")
		if err == nil && r.Container != "api-1" {
			err = fmt.Errorf("web.test/api answered by %q, want api-1", r.Container)
		}
		return err
	})
	me, err := c.GatewayIP()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 20 {
		r, _, err := routerGet(addr, "web.test", "/")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.Container, "web-") {
			t.Fatalf("web.test/ answered by %q, want a container of web", r.Container)
		}
		if !strings.Contains(r.ForwardedFor, me) || !strings.Contains(r.Forwarded, "for="+me) {
			t.Fatalf("the backend saw X-Forwarded-For %q, Forwarded %q; want the client's address %s in both", r.ForwardedFor, r.Forwarded, me)
		}
		seen[r.Container]++
	}
	if len(seen) != 2 {
		t.Errorf("20 requests reached %v, want both containers of web", seen)
	}
	for _, p := range []string{"/api", "/api/v1/x"} {
		if r, _, err := routerGet(addr, "web.test", p); err != nil || r.Container != "api-1" {
			t.Errorf("web.test%s: answered by %q, err %v; want api-1", p, r.Container, err)
		}
	}
	if r, _, err := routerGet(addr, "web.test", "/apix"); err != nil || !strings.HasPrefix(r.Container, "web-") {
		t.Errorf("web.test/apix: answered by %q, err %v; want web (a path prefix is whole segments)", r.Container, err)
	}
	if _, code, _ := routerGet(addr, "nobody.test", "/"); code != http.StatusNotFound {
		t.Errorf("unknown host: status %d, want 404", code)
	}

	// The tcp route: plain bytes to port 9000, here an HTTP request.
	Eventually(t, 20*time.Second, "the tcp route on 9000 reaches raw", func() error {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "9000"), 3*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var r hello.Reply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return err
		}
		if r.Container != "raw-1" {
			return fmt.Errorf("port 9000 answered by %q, want raw-1", r.Container)
		}
		return nil
	})

	out := c.Wharf("router", "ls")
	for _, want := range []string{"node-1", "web.test", "web.test/api", "tcp://9000"} {
		if !strings.Contains(out, want) {
			t.Errorf("wharf router ls lacks %q:\n%s", want, out)
		}
	}

	// Scale web to 1: the router stops sending to the removed one.
	c.Wharf("service", "scale", "web", "1")
	left := c.WaitRunning("web", 1, 30*time.Second)
	for range 6 {
		r, _, err := routerGet(addr, "web.test", "/")
		if err != nil {
			t.Fatal(err)
		}
		if r.Container != left[0].Name {
			t.Fatalf("after the scale to 1, answered by %s, not %s", r.Container, left[0].Name)
		}
	}
}

// routerLoad is the rate and length of each phase of TestRouterUnderLoad:
// 600 requests a second for 12 s, or WHARF_ROUTER_LOAD_RATE and
// WHARF_ROUTER_LOAD_SECONDS (the long form: 3000 and 60).
func routerLoad(t *testing.T) (rate int, d time.Duration) {
	rate, d = 600, 12*time.Second
	if v, err := strconv.Atoi(os.Getenv("WHARF_ROUTER_LOAD_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("WHARF_ROUTER_LOAD_SECONDS")); err == nil && v > 0 {
		d = time.Duration(v) * time.Second
	}
	return rate, d
}

// underLoad runs a bounded load at the router through web.test while
// during changes the cluster, and returns what the load saw.
func underLoad(t *testing.T, addr, what string, during func()) load.Result {
	t.Helper()
	rate, d := routerLoad(t)
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	done := make(chan load.Result, 1)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		res, err := load.Run(ctx, load.Options{URL: "http://" + addr + "/", HostHeader: "web.test", Rate: rate, Duration: d})
		errc <- err
		done <- res
	}()
	time.Sleep(2 * time.Second)
	during()
	if left := d - time.Since(start); left < 3*time.Second {
		t.Logf("%s: the change took most of the %s load; it ran to its end", what, d)
	}
	if err := <-errc; err != nil {
		t.Fatalf("%s: load: %v", what, err)
	}
	res := <-done
	t.Logf("%s at %d req/s for %s: %s, skipped %d, p50 %s p99 %s", what, rate, d, res, res.Skipped, res.Latency.P50, res.Latency.P99)
	for _, e := range res.Errors {
		t.Logf("%s: error: %s", what, e)
	}
	return res
}

// TestRouterUnderLoad: under a steady load through the router, a rolling
// update and a scale from 2 to 10 and back fail no request; the loss of a
// backend's node fails only the requests it held, until the router and
// the server have dropped it. The counts are logged (docs/routing.md
// reports them).
func TestRouterUnderLoad(t *testing.T) {
	c, ip := routerCluster(t)
	c.Wharf("service", "create", "--detach", "--name", "web", "--replicas", "2", "--route", "web.test", "--", "/wharf", "hello")
	c.WaitRunning("web", 2, 60*time.Second)
	addr := net.JoinHostPort(ip, "80")
	Eventually(t, 20*time.Second, "the router serves web.test from both", func() error {
		return routerReaches(addr, "web.test", 10, 2)
	})

	res := underLoad(t, addr, "rolling update", func() {
		c.Wharf("service", "redeploy", "web")
		c.WaitRunning("web", 2, 60*time.Second)
	})
	if res.Failed() != 0 || res.Sent == 0 {
		t.Errorf("rolling update: %d of %d requests failed, want none", res.Failed(), res.Sent)
	}

	res = underLoad(t, addr, "scale 2 to 10 and back", func() {
		c.Wharf("service", "scale", "web", "10")
		c.WaitRunning("web", 10, 60*time.Second)
		c.Wharf("service", "scale", "web", "2")
		c.WaitRunning("web", 2, 60*time.Second)
	})
	if res.Failed() != 0 || res.Sent == 0 {
		t.Errorf("scale 2-10-2: %d of %d requests failed, want none", res.Failed(), res.Sent)
	}

	// The loss of a backend's node (not the router's): its requests in
	// flight fail; the rest go to the other backend.
	ids, err := c.NodeIDs()
	if err != nil {
		t.Fatal(err)
	}
	webs := c.WaitRunning("web", 2, 10*time.Second)
	var victim string
	for _, w := range webs {
		for name, id := range ids {
			if id == w.Node && name != c.Agents[0] {
				victim = name
			}
		}
	}
	if victim == "" {
		t.Skipf("both web containers run on the router's node (%+v): no backend node to lose", webs)
	}
	res = underLoad(t, addr, "loss of "+victim, func() {
		c.KillContainer(victim)
		c.WaitRunning("web", 2, 60*time.Second)
	})
	t.Logf("loss of a backend node: %d of %d requests failed (the router and server dropped it meanwhile)", res.Failed(), res.Sent)
	// A GET that was sent to the dead node goes to the other backend once
	// its connection gives up (TCP_USER_TIMEOUT, 3 s): none should fail
	// but those the load's own timeout ends first. 1% is far above that.
	if res.Sent == 0 || res.Failed() > res.Sent/100 {
		t.Errorf("loss of a backend node: %d of %d requests failed; the other backend should have taken them", res.Failed(), res.Sent)
	}
}
