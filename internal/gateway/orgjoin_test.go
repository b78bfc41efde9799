package gateway_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/store"
)

// A join token of organization b makes nodes of b, up to b's Nodes quota;
// past it the join is refused (forbidden), also to an agent, and writes
// nothing. Two joins racing for the last place never both get it.
func TestJoinTakesTheTokensOrgAndItsNodeQuota(t *testing.T) {
	e := newEnv(t)
	token, hash, err := pki.NewJoinToken(e.ca.Digest())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Create(e.ctx, store.KindJoinTokens, &records.JoinToken{Meta: api.Meta{ID: "jtb", Org: "b"}, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Create(e.ctx, store.KindOrgs, &api.Org{Meta: api.Meta{ID: "b"}, Quotas: api.Quotas{Nodes: 2}}); err != nil {
		t.Fatal(err)
	}
	gw := e.gw.Load()
	join := func() (api.JoinResponse, error) {
		_, csr, err := pki.NewKeyAndCSR("h")
		if err != nil {
			t.Fatal(err)
		}
		return gw.Join(e.ctx, api.JoinRequest{Token: token, CSR: string(csr), Hostname: "h"}, "test", nil)
	}
	resp, err := join()
	if err != nil {
		t.Fatal(err)
	}
	if n := e.node(resp.NodeID); n.Org != "b" {
		t.Fatalf("node of org %q, want b", n.Org)
	}
	// The default organization's token still makes default nodes, with no
	// quota of b's in the way.
	_, csr, _ := pki.NewKeyAndCSR("d")
	dr, err := gw.Join(e.ctx, api.JoinRequest{Token: e.token, CSR: string(csr), Hostname: "d"}, "test", nil)
	if err != nil || (e.node(dr.NodeID).Org != "default" && e.node(dr.NodeID).Org != "") {
		t.Fatalf("default join: %v", err)
	}
	// b's token cannot rejoin the default organization's node.
	_, csr, _ = pki.NewKeyAndCSR("d")
	if _, err := gw.Join(e.ctx, api.JoinRequest{Token: token, NodeID: dr.NodeID, CSR: string(csr), Hostname: "d"}, "test", nil); !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("b's token rejoining a default node: %v", err)
	}
	// Two racing for b's last place: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = join() })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("racing joins: %v, %v; want exactly one to win", errs[0], errs[1])
	}
	_, err = join()
	if !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), `organization "b" has a quota of 2 nodes`) {
		t.Fatalf("join past the quota: %v", err)
	}
	nodes, _, err := store.ListAll[api.Node](e.ctx, e.st, store.KindNodes)
	if err != nil {
		t.Fatal(err)
	}
	inB := 0
	for _, n := range nodes {
		if n.Org == "b" {
			inB++
		}
	}
	if inB != 2 {
		t.Fatalf("%d nodes in b, want 2", inB)
	}
	// The node's join event is b's.
	evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Object == resp.NodeID && ev.Org != "b" {
			t.Fatalf("event %+v of b's node", ev)
		}
	}
	// An agent hears the refusal as a forbidden join.
	a, err := agent.New(agent.Config{ServerURL: e.api.URL, JoinToken: token, DataDir: t.TempDir(),
		Drivers: []runtime.Driver{newMemDriver()}, Hostname: "h", Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(e.ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "quota of 2 nodes") {
			t.Fatalf("agent past the quota: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent past the quota kept running")
	}
}
