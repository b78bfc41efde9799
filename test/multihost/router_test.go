package multihost

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hello"
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
	Eventually(t, 20*time.Second, "the router serves web.test", func() error {
		_, _, err := routerGet(addr, "web.test", "/")
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
