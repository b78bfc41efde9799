package multihost

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// overlayCluster starts three agents with the overlay, a service db (one
// container) and web (three), each `wharf hello` on port 8080 of its own
// address.
func overlayCluster(t *testing.T) *Cluster {
	t.Helper()
	RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	// Shorter graces than the harness's, so that the node killed below is
	// replaced in about 13 s rather than 45 (the agents' reconnect after a
	// server restart, at most 7.5 s of backoff, stays within them).
	c := StartClusterWith(t, build, Overlay(Options{Agents: 3, ServerArgs: func(*Cluster) []string {
		return []string{"--heartbeat-grace", "8s", "--node-loss-grace", "5s"}
	}}))
	c.Wharf("service", "create", "--detach", "--name", "db", "--", "/wharf", "hello", "--addr", ":8080")
	c.Wharf("service", "create", "--detach", "--name", "web", "--replicas", "3", "--", "/wharf", "hello", "--addr", ":8080")
	c.WaitRunning("db", 1, 60*time.Second)
	c.WaitRunning("web", 3, 60*time.Second)
	return c
}

// fetch runs `wharf hello --get url` in container and returns the answer.
func fetch(c *Cluster, container, url string) (string, error) {
	out, err := c.Exec(container, "/wharf", "hello", "--get", url)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(out, "ok ") {
		return "", fmt.Errorf("%s: get %s: %s", container, url, out)
	}
	return out, nil
}

// lookup runs `wharf hello --lookup name` in container: its addresses.
func lookup(c *Cluster, container, name string) ([]string, error) {
	out, err := c.Exec(container, "/wharf", "hello", "--lookup", name)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "ok" {
		return nil, fmt.Errorf("%s: lookup %s: %s", container, name, out)
	}
	return strings.Split(f[2], ","), nil
}

// TestOverlayNamesAndAddresses: containers on different nodes reach each
// other by service name and by container name; a scale-up is in the
// names at once; an address stays with its slot across a redeploy and
// across a move off a killed node; with the server killed, traffic
// between containers goes on.
func TestOverlayNamesAndAddresses(t *testing.T) {
	c := overlayCluster(t)
	dbs := c.WaitRunning("db", 1, 10*time.Second)
	webs := c.WaitRunning("web", 3, 10*time.Second)
	addrs, err := c.Addresses("db")
	if err != nil {
		t.Fatal(err)
	}
	dbIP := addrs["db-1"]
	if dbIP == "" || !strings.HasPrefix(dbIP, "10.7.") {
		t.Fatalf("db-1 has no address on the default network: %v", addrs)
	}
	var across []string // web containers on another node than db-1
	for _, w := range webs {
		if w.Node != dbs[0].Node {
			across = append(across, w.Name)
		}
	}
	if len(across) == 0 {
		t.Fatalf("no web container on another node than db-1 (%s): %+v", dbs[0].Node, webs)
	}
	for _, w := range across {
		for _, url := range []string{"http://db:8080/", "http://db-1:8080/", "http://" + dbIP + ":8080/"} {
			Eventually(t, 10*time.Second, w+" reaches "+url, func() error {
				out, err := fetch(c, w, url)
				if err == nil && !strings.Contains(out, "Hello from db-1") {
					return fmt.Errorf("answer %q is not db-1's", out)
				}
				return err
			})
		}
	}

	// A scale-up is in the names as soon as its container runs.
	c.Wharf("service", "scale", "--detach", "web", "4")
	var web4 string
	Eventually(t, 60*time.Second, "web-4 runs", func() error {
		cts, err := c.Containers("web")
		if err != nil {
			return err
		}
		for _, ct := range cts {
			if ct.Name == "web-4" && ct.State == "Running" {
				a, err := c.Addresses("web")
				web4 = a["web-4"]
				return err
			}
		}
		return fmt.Errorf("web-4 not running")
	})
	d := Eventually(t, 10*time.Second, "web-4 in the answers for web", func() error {
		ips, err := lookup(c, "db-1", "web")
		if err != nil {
			return err
		}
		if !slices.Contains(ips, web4) {
			return fmt.Errorf("web answers %v, not %s", ips, web4)
		}
		return nil
	})
	t.Logf("web-4 (%s) answered for web %s after it showed Running", web4, d.Round(time.Millisecond))

	// The server goes away: a prober keeps fetching db by name meanwhile,
	// another by address.
	c.Wharf("service", "create", "--detach", "--name", "prober", "--", "/wharf", "hello", "--get", "http://db:8080/", "--every", "200ms")
	c.Wharf("service", "create", "--detach", "--name", "prober-ip", "--", "/wharf", "hello", "--get", "http://"+dbIP+":8080/", "--every", "200ms")
	c.WaitRunning("prober", 1, 60*time.Second)
	c.WaitRunning("prober-ip", 1, 60*time.Second)
	Eventually(t, 10*time.Second, "the prober succeeds", func() error {
		out, err := c.Try("service", "logs", "prober")
		if err != nil || !strings.Contains(out, "ok ") {
			return fmt.Errorf("logs: %v %q", err, tail(out, 3))
		}
		return nil
	})
	down := time.Now().UTC()
	c.KillContainer(c.Server)
	time.Sleep(5 * time.Second)
	up := time.Now().UTC()
	c.StartContainer(c.Server)
	c.WaitAPI(60 * time.Second)
	proberWindow(t, c, "prober", "with the server down", down, up, true)

	// Every agent restarts (kill -9; nodeinit starts it again): nothing
	// that works is rebuilt, so traffic by address goes on; names pause
	// while the agent is away (its resolver is in it) and come back from
	// the state it kept, before its session is back.
	from := time.Now().UTC()
	for _, name := range c.Agents {
		c.KillAgent(name)
	}
	time.Sleep(3 * time.Second)
	to := time.Now().UTC()
	proberWindow(t, c, "prober-ip", "while every agent restarted", from, to, true)
	proberWindow(t, c, "prober", "while every agent restarted", from, to, false)
	Eventually(t, 10*time.Second, "names answer again after the agents' restart", func() error {
		_, err := fetch(c, "web-1", "http://db:8080/")
		return err
	})

	// A redeploy keeps the slot's address.
	c.Wharf("service", "redeploy", "db")
	c.WaitRunning("db", 1, 60*time.Second)
	if a, err := c.Addresses("db"); err != nil || a["db-1"] != dbIP {
		t.Fatalf("after a redeploy db-1 is at %v (%v), was %s", a, err, dbIP)
	}

	// The node of db-1 dies: db-1 runs elsewhere at the same address, and
	// is reached by name from a node that lives.
	dbs = c.WaitRunning("db", 1, 10*time.Second)
	var victim string
	for i, name := range c.Agents {
		if nodeID(t, c, fmt.Sprintf("node-%d", i+1)) == dbs[0].Node {
			victim = name
		}
	}
	c.KillContainer(victim)
	Eventually(t, 120*time.Second, "db-1 runs on another node", func() error {
		cts, err := c.Containers("db")
		if err != nil {
			return err
		}
		for _, ct := range cts {
			if ct.State == "Running" && ct.Node != dbs[0].Node {
				return nil
			}
		}
		return fmt.Errorf("db: %+v", cts)
	})
	if a, err := c.Addresses("db"); err != nil || a["db-1"] != dbIP {
		t.Fatalf("after the move db-1 is at %v (%v), was %s", a, err, dbIP)
	}
	var live []Container
	Eventually(t, 120*time.Second, "four web containers run on the nodes that live", func() error {
		cts, err := c.Containers("web")
		if err != nil {
			return err
		}
		live = slices.DeleteFunc(cts, func(ct Container) bool { return ct.State != "Running" || ct.Node == dbs[0].Node })
		if len(live) != 4 {
			return fmt.Errorf("%d running", len(live))
		}
		return nil
	})
	for _, w := range live {
		Eventually(t, 20*time.Second, w.Name+" reaches the moved db", func() error {
			out, err := fetch(c, w.Name, "http://db:8080/")
			if err == nil && !strings.Contains(out, "Hello from db-1") {
				return fmt.Errorf("answer %q is not db-1's", out)
			}
			return err
		})
	}
}

// TestOverlayOrgsIsolated: another organization's node and containers,
// on the same addresses' network range, are neither reached nor named
// from the first organization's containers.
func TestOverlayOrgsIsolated(t *testing.T) {
	RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	o := Overlay(Options{Agents: 2})
	c := StartClusterWith(t, build, o)
	for _, args := range [][]string{{"user", "create", "ann"}, {"team", "add", "owners", "ann"}, {"org", "create", "b", "--owner", "ann"}} {
		if _, err := c.TryAs(c.UserDir("admin"), c.token, "ann-password\n", args...); err != nil {
			t.Fatal(err)
		}
	}
	ann := c.UserDir("ann")
	if _, err := c.TryAs(ann, "", "ann-password\n", "login", "--user", "ann", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	asB := func(args ...string) string {
		t.Helper()
		out, err := c.TryAs(ann, "", "", append([]string{"--org", "b"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	c.AddAgent(o, "b-1", asB("node", "join-token", "-q"))
	Eventually(t, 60*time.Second, "org b's node Deployed", func() error {
		out := asB("node", "ls")
		if !strings.Contains(out, "Deployed") {
			return fmt.Errorf("node ls: %s", out)
		}
		return nil
	})
	// Org default: db (10.7.0.2) and web (three more); org b: five
	// containers from 10.7.0.2, so the last is on an address org default
	// does not use.
	c.Wharf("service", "create", "--detach", "--name", "web", "--replicas", "2", "--", "/wharf", "hello", "--addr", ":8080")
	c.WaitRunning("web", 2, 60*time.Second)
	asB("service", "create", "--detach", "--name", "bweb", "--replicas", "4", "--", "/wharf", "hello", "--addr", ":8080")
	var bAddrs []string
	Eventually(t, 60*time.Second, "org b's containers run", func() error {
		out, err := c.TryAs(ann, "", "", "--org", "b", "service", "ps", "bweb", "--format", "{{.Name}} {{.State}} {{(index .Spec.Networks 0).IP}}")
		if err != nil {
			return err
		}
		bAddrs = nil
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[1] == "Running" {
				bAddrs = append(bAddrs, f[2])
			}
		}
		if len(bAddrs) != 4 {
			return fmt.Errorf("bweb: %s", out)
		}
		return nil
	})
	mine, err := c.Addresses("web")
	if err != nil {
		t.Fatal(err)
	}
	var foreign string
	for _, a := range bAddrs {
		if !slices.Contains(mapValues(mine), a) {
			foreign = a
		}
	}
	if foreign == "" {
		t.Fatalf("every address of org b (%v) is also org default's (%v)", bAddrs, mine)
	}
	// Org b's own containers reach it (the network works there) ...
	if out, err := c.TryAs(ann, "", "", "--org", "b", "container", "exec", "bweb-1", "--", "/wharf", "hello", "--get", "http://"+foreign+":8080/"); err != nil || !strings.HasPrefix(out, "ok ") {
		t.Fatalf("org b reaching its own %s: %v %s", foreign, err, out)
	}
	// ... org default's do not, neither by address nor by name.
	for name := range mine {
		if out, err := fetch(c, name, "http://"+foreign+":8080/"); err == nil {
			t.Errorf("%s (org default) reached org b's %s: %s", name, foreign, out)
		}
		if ips, err := lookup(c, name, "bweb"); err == nil {
			t.Errorf("%s (org default) resolved org b's bweb: %v", name, ips)
		}
	}
}

// proberWindow counts a prober's lines between from and to and, when
// strict, checks that every fetch succeeded and that there were some.
func proberWindow(t *testing.T, c *Cluster, prober, what string, from, to time.Time, strict bool) {
	t.Helper()
	var logs string
	Eventually(t, 60*time.Second, prober+"'s logs, once its agent is back", func() error {
		var err error
		if logs, err = c.Try("service", "logs", prober); err != nil {
			return err
		}
		// The agent's log follows a little behind: wait for a line
		// after the window.
		for _, line := range strings.Split(logs, "\n") {
			if at, ok := proberTime(line); ok && at.After(to) {
				return nil
			}
		}
		return fmt.Errorf("no line after %s yet; last lines:\n%s", to.Format(time.RFC3339Nano), tail(logs, 5))
	})
	oks, fails := 0, 0
	for _, line := range strings.Split(logs, "\n") {
		at, ok := proberTime(line)
		if !ok || at.Before(from) || at.After(to) {
			continue
		}
		switch strings.Fields(line[strings.Index(line, "| ")+2:])[0] {
		case "ok":
			oks++
		case "fail":
			fails++
			if strict {
				t.Errorf("%s, %s: %s", prober, what, line)
			} else {
				t.Logf("%s, %s: %s", prober, what, line)
			}
		}
	}
	t.Logf("%s, %s for %s: %d fetches of db succeeded, %d failed", prober, what, to.Sub(from).Round(time.Millisecond), oks, fails)
	if strict && oks < 10 {
		t.Errorf("%s, %s: only %d fetches:\n%s", prober, what, oks, tail(logs, 30))
	}
}

// proberTime is the time of a prober's line ("prober-1 | ok <time> ...").
func proberTime(line string) (time.Time, bool) {
	_, rest, ok := strings.Cut(line, "| ")
	f := strings.Fields(rest)
	if !ok || len(f) < 2 {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, f[1])
	return at, err == nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestOverlayRelayedWhenVXLANIsBlocked: with VXLAN between two agents
// dropped by a firewall, their containers still talk, through the relay
// (the agents' sessions and the server), and the test sees the path go
// through the relay and come back once the firewall opens.
func TestOverlayRelayedWhenVXLANIsBlocked(t *testing.T) {
	RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	c := StartClusterWith(t, build, Overlay(Options{Agents: 2}))
	c.Wharf("service", "create", "--detach", "--name", "a", "--constraint", "node==node-1", "--", "/wharf", "hello", "--addr", ":8080")
	c.Wharf("service", "create", "--detach", "--name", "b", "--constraint", "node==node-2", "--", "/wharf", "hello", "--addr", ":8080")
	c.WaitRunning("a", 1, 60*time.Second)
	c.WaitRunning("b", 1, 60*time.Second)
	Eventually(t, 20*time.Second, "a-1 reaches b directly", func() error {
		_, err := fetch(c, "a-1", "http://b:8080/")
		return err
	})
	ip2, err := c.IP(c.Agents[1])
	if err != nil {
		t.Fatal(err)
	}
	rules := [][]string{
		{"INPUT", "-s", ip2, "-p", "udp", "--dport", "4789", "-j", "DROP"},
		{"OUTPUT", "-d", ip2, "-p", "udp", "--dport", "4789", "-j", "DROP"},
	}
	for _, r := range rules {
		if err := c.iptables(c.Agents[0], append([]string{"-I"}, r...)...); err != nil {
			t.Fatal(err)
		}
	}
	blocked := time.Now()
	d := Eventually(t, 30*time.Second, "a-1 reaches b through the relay", func() error {
		_, err := fetch(c, "a-1", "http://b:8080/")
		return err
	})
	t.Logf("with VXLAN between node-1 and node-2 dropped, a-1 reached b again after %s", d.Round(time.Millisecond))
	for range 20 { // and keeps reaching it
		if _, err := fetch(c, "b-1", "http://a:8080/"); err != nil {
			t.Fatalf("b-1 to a through the relay: %v", err)
		}
	}
	if out, _ := Logs(c.Agents[0], blocked); !strings.Contains(out, "relayed") {
		t.Errorf("node-1's agent never said a peer is relayed:\n%s", tail(out, 20))
	}
	Eventually(t, 10*time.Second, "network inspect shows the path relayed", func() error { return pathIs(c, "relayed") })
	for _, r := range rules {
		if err := c.iptables(c.Agents[0], append([]string{"-D"}, r...)...); err != nil {
			t.Fatal(err)
		}
	}
	Eventually(t, 30*time.Second, "a-1 reaches b once VXLAN is open again", func() error {
		_, err := fetch(c, "a-1", "http://b:8080/")
		return err
	})
	Eventually(t, 20*time.Second, "network inspect shows the path direct again", func() error { return pathIs(c, "direct") })
}

// pathIs checks what `wharf network inspect default` says of the path
// between node-1 and node-2.
func pathIs(c *Cluster, via string) error {
	out, err := c.Try("network", "inspect", "default")
	if err != nil {
		return err
	}
	var nets []struct {
		Paths []struct{ From, To, Via string } `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 {
		return fmt.Errorf("network inspect: %v: %s", err, out)
	}
	for _, p := range nets[0].Paths {
		if p.From == "node-1" && p.To == "node-2" {
			if p.Via != via {
				return fmt.Errorf("node-1 to node-2 is %s", p.Via)
			}
			return nil
		}
	}
	return fmt.Errorf("no path node-1 to node-2 in %s", out)
}
