package netalloc

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func TestParseSubnet(t *testing.T) {
	for _, s := range []string{"10.7.0.0/16", "10.8.0.0/29", "10.0.0.0/8", "192.168.5.0/24"} {
		p, err := ParseSubnet(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseSubnet(%q) = %v, %v", s, p, err)
		}
	}
	for s, want := range map[string]string{
		"nonsense":       "not a CIDR",
		"10.7.0.0":       "not a CIDR",
		"fd00::/64":      "only IPv4",
		"10.0.0.0/7":     "/8 to /29",
		"10.0.0.0/30":    "/8 to /29",
		"10.8.1.2/16":    "did you mean 10.8.0.0/16",
		"127.0.0.0/8":    "loopback",
		"224.0.0.0/8":    "multicast",
		"169.254.0.0/16": "link-local",
		"0.0.0.0/8":      "unspecified",
	} {
		_, err := ParseSubnet(s)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("ParseSubnet(%q) = %v, want an invalid-argument error with %q", s, err, want)
		}
	}
}

func TestSubnetArithmetic(t *testing.T) {
	p := netip.MustParsePrefix("10.8.0.0/29")
	if g := Gateway(p); g.String() != "10.8.0.1" {
		t.Errorf("Gateway = %v", g)
	}
	if b := Broadcast(p); b.String() != "10.8.0.7" {
		t.Errorf("Broadcast = %v", b)
	}
	if b := Broadcast(netip.MustParsePrefix(api.DefaultSubnet)); b.String() != "10.7.255.255" {
		t.Errorf("Broadcast(default) = %v", b)
	}
	if n := Size(p); n != 5 {
		t.Errorf("Size(/29) = %d", n)
	}
	if n := Size(netip.MustParsePrefix(api.DefaultSubnet)); n != 65533 {
		t.Errorf("Size(/16) = %d", n)
	}
	for a, want := range map[string]bool{
		"10.8.0.0": false, "10.8.0.1": false, "10.8.0.2": true, "10.8.0.6": true, "10.8.0.7": false, "10.8.0.8": false, "10.7.0.2": false,
	} {
		if got := Usable(p, netip.MustParseAddr(a)); got != want {
			t.Errorf("Usable(%s) = %v", a, got)
		}
	}
}

func TestNextAddress(t *testing.T) {
	p := netip.MustParsePrefix("10.8.0.0/29")
	used := map[netip.Addr]bool{}
	isUsed := func(a netip.Addr) bool { return used[a] }
	next := func(from string) string {
		t.Helper()
		var f netip.Addr
		if from != "" {
			f = netip.MustParseAddr(from)
		}
		a, ok := NextAddress(p, f, isUsed)
		if !ok {
			return "full"
		}
		if !Usable(p, a) || used[a] {
			t.Fatalf("NextAddress handed out %v", a)
		}
		return a.String()
	}
	if got := next(""); got != "10.8.0.2" {
		t.Fatalf("first = %s", got)
	}
	if got := next("10.8.0.3"); got != "10.8.0.4" {
		t.Fatalf("after .3 = %s", got)
	}
	// After the last usable address, or from outside the subnet: the first.
	if got := next("10.8.0.6"); got != "10.8.0.2" {
		t.Fatalf("after .6 = %s", got)
	}
	if got := next("192.168.0.1"); got != "10.8.0.2" {
		t.Fatalf("from outside = %s", got)
	}
	// Held addresses are skipped, wrapping around once.
	used[netip.MustParseAddr("10.8.0.5")] = true
	used[netip.MustParseAddr("10.8.0.6")] = true
	if got := next("10.8.0.4"); got != "10.8.0.2" {
		t.Fatalf("after .4 with .5 and .6 held = %s", got)
	}
	// Every address held: full, whatever the start.
	for _, a := range []string{"10.8.0.2", "10.8.0.3", "10.8.0.4"} {
		used[netip.MustParseAddr(a)] = true
	}
	for _, from := range []string{"", "10.8.0.2", "10.8.0.6"} {
		if got := next(from); got != "full" {
			t.Fatalf("full subnet from %q gave %s", from, got)
		}
	}
	// Handing out every address one after the other gives each once.
	seen := map[netip.Addr]bool{}
	var last netip.Addr
	for range Size(netip.MustParsePrefix("10.9.0.0/24")) {
		a, ok := NextAddress(netip.MustParsePrefix("10.9.0.0/24"), last, func(a netip.Addr) bool { return seen[a] })
		if !ok {
			t.Fatalf("full after %d", len(seen))
		}
		seen[a], last = true, a
	}
	if _, ok := NextAddress(netip.MustParsePrefix("10.9.0.0/24"), last, func(a netip.Addr) bool { return seen[a] }); ok || len(seen) != 253 {
		t.Fatalf("%d handed out, then ok=%v", len(seen), ok)
	}
}

func TestIDs(t *testing.T) {
	if id := NetworkID("", "default"); id != "default.default" {
		t.Errorf("NetworkID = %s", id)
	}
	if id := NetworkID("acme", "back"); id != "acme.back" {
		t.Errorf("NetworkID = %s", id)
	}
	if id := AddressID("acme.back", netip.MustParseAddr("10.8.0.2")); id != "acme.back.10.8.0.2" {
		t.Errorf("AddressID = %s", id)
	}
	n := NewNetwork("acme", "default", netip.MustParsePrefix("10.7.0.0/16"), 4100)
	if n.ID != "acme.default" || n.Gateway != "10.7.0.1" || n.Subnet != "10.7.0.0/16" || n.VNI != 4100 || !n.Default || n.Org != "acme" {
		t.Errorf("NewNetwork = %+v", n)
	}
	if n := NewNetwork("acme", "back", netip.MustParsePrefix("10.8.0.0/24"), 4101); n.Default {
		t.Errorf("a named network is not the default: %+v", n)
	}
}

func TestNextVNI(t *testing.T) {
	if v, err := NextVNI(nil); err != nil || v != FirstVNI {
		t.Fatalf("NextVNI(nil) = %d, %v", v, err)
	}
	nets := []*api.Network{{VNI: FirstVNI}, {VNI: FirstVNI + 2}}
	if v, err := NextVNI(nets); err != nil || v != FirstVNI+1 {
		t.Fatalf("NextVNI = %d, %v", v, err)
	}
}

func newStore(t *testing.T) (context.Context, *store.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		e.Close()
	})
	return ctx, store.New(e.Client, "/wharf")
}

func TestCreateClaimsTheVNI(t *testing.T) {
	ctx, st := newStore(t)
	a := NewNetwork("acme", "back", netip.MustParsePrefix("10.8.0.0/24"), FirstVNI)
	tx := st.Txn()
	Create(tx, a)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Another network with the same VNI: refused, nothing written.
	b := NewNetwork("other", "front", netip.MustParsePrefix("10.9.0.0/24"), FirstVNI)
	tx = st.Txn()
	Create(tx, b)
	if err := tx.Commit(ctx); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second network on VNI %d: %v", FirstVNI, err)
	}
	if err := st.Get(ctx, store.KindNetworks, b.ID, new(api.Network)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused network was written: %v", err)
	}
	// Removed, its VNI is free again.
	got := new(api.Network)
	if err := st.Get(ctx, store.KindNetworks, a.ID, got); err != nil {
		t.Fatal(err)
	}
	tx = st.Txn()
	Remove(tx, got)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tx = st.Txn()
	Create(tx, b)
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("VNI not given back: %v", err)
	}
}

func TestEnsureDefault(t *testing.T) {
	ctx, st := newStore(t)
	// Concurrent callers of one organization get one network.
	var wg sync.WaitGroup
	got := make([]*api.Network, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = EnsureDefault(ctx, st, "acme")
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i].ID != "acme.default" || got[i].VNI != got[0].VNI || got[i].Subnet != api.DefaultSubnet || got[i].Gateway != "10.7.0.1" || !got[i].Default {
			t.Fatalf("caller %d got %+v, caller 0 %+v", i, got[i], got[0])
		}
	}
	// Another organization: its own network, another VNI, even when a
	// claim is left without its network.
	stale := &vniClaim{Meta: api.Meta{ID: "4097"}, Network: "gone.default"}
	if err := st.Create(ctx, store.KindVNIs, stale); err != nil {
		t.Fatal(err)
	}
	other, err := EnsureDefault(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	if other.ID != "default.default" || other.VNI == got[0].VNI || other.VNI == 4097 {
		t.Fatalf("default organization's network %+v (acme's VNI %d)", other, got[0].VNI)
	}
	nets, _, err := store.ListAll[api.Network](ctx, st, store.KindNetworks)
	if err != nil || len(nets) != 2 {
		t.Fatalf("%d networks, %v", len(nets), err)
	}
}
