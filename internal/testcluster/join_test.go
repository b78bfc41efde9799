package testcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// A join token holder who learned a node's ID (any read-only API token
// lists them) cannot take the node over: a join naming the node is refused
// without the node's own certificate, with a self-signed one of the right
// name, and with another node's real certificate. The real agent keeps its
// session and goes on receiving its assignments.
func TestForgedJoinCannotTakeOverANode(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	d := fake.New()
	a := joined(t, c, "victim", d)
	waitDeployed(t, c, 1)
	if _, err := c.Client.CreateService(ctx, "db", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 1,
		Env: map[string]string{"DB_PASSWORD": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	waitFakeRunning(t, d, 1)

	// The attacker's view: a read-only API token lists the node IDs.
	ro, err := c.Client.CreateToken(ctx, "viewer", api.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := client.New(client.Options{Addr: c.URL, Token: ro.Secret, CACert: c.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := viewer.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("read-only node list: %v %v", nodes, err)
	}
	victim, serial := nodes[0].ID, nodes[0].CertSerial
	if victim != a.NodeID() {
		t.Fatalf("listed %s, the agent is %s", victim, a.NodeID())
	}
	jt, err := c.Client.JoinToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}

	// With the token alone, the attacker gets a node of its own.
	own, err := hostile.Join(ctx, c.URL, jt.Token, "", "evil-own", nil)
	if err != nil || own.Status != http.StatusOK || own.NodeID == "" || own.NodeID == victim {
		t.Fatalf("a join token's own new node: %+v %v", own, err)
	}
	ownCert, err := own.KeyPair()
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, err := hostile.SelfSignedCert(victim)
	if err != nil {
		t.Fatal(err)
	}
	for name, cert := range map[string]*tls.Certificate{
		"no client certificate":           nil,
		"a self-signed one with its name": &selfSigned,
		"another node's real one":         &ownCert,
	} {
		r, err := hostile.Join(ctx, c.URL, jt.Token, victim, "evil", cert)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Status != http.StatusForbidden || r.Certificate != "" || !strings.Contains(r.Message, "wharf node rm "+victim) {
			t.Errorf("forged join as %s with %s: %d %q (certificate issued: %t), want 403 saying how to recover",
				victim, name, r.Status, r.Message, r.Certificate != "")
		}
	}

	// The real agent is untouched: same certificate, still connected, and
	// it still gets its assignments (a second replica lands on it: the
	// attacker's node never connected, so it is not Deployed).
	n, err := c.Client.Node(ctx, victim)
	if err != nil || n.CertSerial != serial || n.State != api.NodeDeployed || n.Hostname != "victim" {
		t.Fatalf("victim after the forged joins: %+v %v", n, err)
	}
	if exited, err := a.Exited(); exited {
		t.Fatalf("the victim's agent exited: %v", err)
	}
	if _, err := c.Client.ScaleService(ctx, "db", 2); err != nil {
		t.Fatal(err)
	}
	waitFakeRunning(t, d, 2)
	if n, _ := c.Client.Node(ctx, victim); n.CertSerial != serial || n.State != api.NodeDeployed {
		t.Fatalf("victim after the assignment: %s %s", n.State, n.CertSerial)
	}
}

// waitFakeRunning waits until the fake driver runs want containers.
func waitFakeRunning(t *testing.T, d *fake.Driver, want int) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		l, err := d.List(context.Background())
		if err != nil {
			return err
		}
		if len(l) != want {
			return fmt.Errorf("%d of %d containers on the node", len(l), want)
		}
		return nil
	})
}

// An expired token and a revoked one join nothing. A token made for 3 uses
// joins exactly 3 nodes out of 500 concurrent joins; the rest are told it
// is used up.
func TestJoinTokenUsesAndExpiry(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()

	def, err := c.Client.JoinToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(def.ExpiresAt); d < api.DefaultJoinTokenTTL-time.Minute || d > api.DefaultJoinTokenTTL {
		t.Errorf("default token expires in %s, want %s", d, api.DefaultJoinTokenTTL)
	}
	forever, err := c.Client.CreateJoinToken(ctx, api.JoinTokenRequest{TTL: "0"})
	if err != nil || !forever.ExpiresAt.IsZero() {
		t.Fatalf("--ttl 0: %+v %v", forever.JoinToken, err)
	}

	// Expired and revoked tokens first: the burst's refusals may get this
	// address throttled (429) for a while.
	short, err := c.Client.CreateJoinToken(ctx, api.JoinTokenRequest{TTL: "1s"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(short.ExpiresAt) + 10*time.Millisecond)
	if r, err := hostile.Join(ctx, c.URL, short.Token, "", "late", nil); err != nil || r.Status != http.StatusUnauthorized || !strings.Contains(r.Message, "expired") {
		t.Errorf("join with an expired token: %+v %v, want 401 saying it expired", r, err)
	}

	if err := c.Client.DeleteJoinToken(ctx, forever.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := hostile.Join(ctx, c.URL, forever.Token, "", "revoked", nil); err != nil || r.Status != http.StatusUnauthorized || !strings.Contains(r.Message, "revoked") {
		t.Errorf("join with a revoked token: %+v %v, want 401", r, err)
	}

	three, err := c.Client.CreateJoinToken(ctx, api.JoinTokenRequest{MaxUses: 3})
	if err != nil {
		t.Fatal(err)
	}
	const burst = 500
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		joinedN  = map[string]bool{}
		other    []string
	)
	start := time.Now()
	for i := range burst {
		wg.Go(func() {
			r, err := hostile.Join(ctx, c.URL, three.Token, "", fmt.Sprintf("burst-%d", i), nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && len(other) < 5:
				other = append(other, err.Error())
			case r.Status == http.StatusOK:
				statuses[r.Status]++
				joinedN[r.NodeID] = true
			case r.Status == http.StatusUnauthorized && strings.Contains(r.Message, "used up"),
				r.Status == http.StatusTooManyRequests: // failed joins from one address are throttled
				statuses[http.StatusUnauthorized]++
			case len(other) < 5:
				other = append(other, fmt.Sprintf("%d %s", r.Status, r.Message))
			}
		})
	}
	wg.Wait()
	t.Logf("%d concurrent joins with a 3-use token answered in %s", burst, time.Since(start).Round(time.Millisecond))
	if statuses[http.StatusOK] != 3 || len(joinedN) != 3 || statuses[http.StatusUnauthorized] != burst-3 {
		t.Fatalf("%d joins with a 3-use token: %d accepted (%d nodes), %d refused as used up (or throttled), others %q",
			burst, statuses[http.StatusOK], len(joinedN), statuses[http.StatusUnauthorized], other)
	}
	if nodes, err := c.Client.Nodes(ctx); err != nil || len(nodes) != 3 {
		t.Fatalf("%d nodes after the burst, want 3 (%v)", len(nodes), err)
	}
	toks, err := c.Client.JoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// (api.JoinToken has no hash to list: apiserver's TestNoHashOnTheWire
	// checks the JSON.)
	for _, tk := range toks {
		if tk.ID == three.ID && (tk.Uses != 3 || tk.MaxUses != 3) {
			t.Errorf("the 3-use token lists %d of %d uses", tk.Uses, tk.MaxUses)
		}
	}

}
