package controller

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

const defaultNet = "default.default" // the default organization's default network

// createServiceEdited writes a service, changed by fn first, and its name
// index as the API does.
func (e *env) createServiceEdited(name string, spec api.ServiceSpec, fn func(*api.Service)) *api.Service {
	e.t.Helper()
	spec.Running = true
	s := &api.Service{Meta: api.Meta{ID: randomID(), Name: name}, Spec: spec, Status: api.ServiceStatus{State: api.ServiceNotRunning}}
	fn(s)
	t := e.st.Txn()
	t.Create(store.KindServices, s)
	t.Create(store.KindNames, &nameIdx{Meta: api.Meta{ID: "services." + name}, Target: s.ID})
	if err := t.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// createNetwork writes a network of the default organization as the
// domain layer does.
func (e *env) createNetwork(name, subnet string, vni int) *api.Network {
	e.t.Helper()
	n := netalloc.NewNetwork("", name, netip.MustParsePrefix(subnet), vni)
	t := e.st.Txn()
	netalloc.Create(t, n)
	if err := t.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// records lists the address records of a service (every service: "").
func (e *env) records(serviceID string) []*api.AddressRecord {
	e.t.Helper()
	all, _, err := store.ListAll[api.AddressRecord](e.ctx, e.st, store.KindAddresses)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*api.AddressRecord
	for _, r := range all {
		if serviceID == "" || r.Service == serviceID {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *api.AddressRecord) int { return a.Slot - b.Slot })
	return out
}

// ipOf is a container's address on a network, "" when it has none.
func ipOf(ct *api.Container, network string) string {
	for _, a := range ct.Spec.Networks {
		if a.Network == network {
			return a.IP
		}
	}
	return ""
}

// checkRecords: every container of the service holds an address on
// network that is the record of its slot, and every record of the service
// belongs to a container.
func (e *env) checkRecords(serviceID, network string) error {
	recs := map[string]*api.AddressRecord{}
	for _, r := range e.records(serviceID) {
		if r.Network == network {
			recs[r.Address] = r
		}
	}
	used := map[string]bool{}
	for _, ct := range e.containers(serviceID) {
		ip := ipOf(ct, network)
		r := recs[ip]
		if r == nil || r.Slot != ct.Spec.Slot || r.Network != network || r.ID != netalloc.AddressID(network, netip.MustParseAddr(ip)) {
			return fmt.Errorf("%s (slot %d) has %q on %s, record %+v", ct.Name, ct.Spec.Slot, ip, network, r)
		}
		used[ip] = true
	}
	for ip, r := range recs {
		if !used[ip] {
			return fmt.Errorf("record %s (slot %d) held by no container", r.ID, r.Slot)
		}
	}
	return nil
}

// agentsUntil plays the agents of a service (a container desired Running
// runs, one desired Terminated ends) until cond holds of its containers.
func (e *env) agentsUntil(serviceID string, cond func([]*api.Container) error) {
	e.t.Helper()
	e.eventually(10*time.Second, func() error {
		cs := e.containers(serviceID)
		if err := cond(cs); err == nil {
			return nil
		}
		for _, c := range cs {
			switch {
			case c.Spec.Node == "":
			case c.Spec.Desired == api.ContainerRunning && c.Status.State != api.ContainerRunning:
				e.setStatus(c.ID, api.ContainerRunning)
			case c.Spec.Desired == api.ContainerTerminated && c.Status.State != api.ContainerTerminated:
				if n, err := e.nodeState(c.Spec.Node); err == nil && n == api.NodeDeployed {
					e.setStatus(c.ID, api.ContainerTerminated)
				}
			}
		}
		return cond(e.containers(serviceID))
	})
}

func (e *env) nodeState(id string) (api.NodeState, error) {
	var n api.Node
	err := e.st.Get(e.ctx, store.KindNodes, id, &n)
	return n.State, err
}

// ipsBySlot maps the slots of the containers desired Running to their
// address on network.
func ipsBySlot(cs []*api.Container, network string) map[int]string {
	out := map[int]string{}
	for _, c := range cs {
		if c.Spec.Desired == api.ContainerRunning {
			out[c.Spec.Slot] = ipOf(c, network)
		}
	}
	return out
}

func (e *env) pending(id string) string {
	s, err := e.service(id)
	if err != nil {
		return err.Error()
	}
	return s.Status.Pending
}

func TestAddressesAttachAndStayAcrossARedeploy(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("Web", api.ServiceSpec{Command: []string{"x"}, Replicas: 2})
	var before map[int]string
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 2 || cs[0].Status.State != api.ContainerRunning || cs[1].Status.State != api.ContainerRunning {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		before = ipsBySlot(cs, defaultNet)
		return nil
	})
	cs := e.containers(svc.ID)
	var def api.Network
	if err := e.st.Get(e.ctx, store.KindNetworks, defaultNet, &def); err != nil {
		t.Fatalf("the default network was not created: %v", err)
	}
	prefix := netip.MustParsePrefix(api.DefaultSubnet)
	for _, c := range cs {
		if len(c.Spec.Networks) != 1 {
			t.Fatalf("%s networks %+v", c.Name, c.Spec.Networks)
		}
		a := c.Spec.Networks[0]
		want := api.NetworkAttachment{Network: defaultNet, Name: "default", VNI: def.VNI, Subnet: api.DefaultSubnet, Gateway: "10.7.0.1", IP: a.IP,
			Names: []string{"web"}, Aliases: []string{strings.ToLower(c.Name)}}
		if fmt.Sprint(a) != fmt.Sprint(want) || !netalloc.Usable(prefix, netip.MustParseAddr(a.IP)) || def.VNI < netalloc.FirstVNI {
			t.Fatalf("%s attachment %+v, want %+v", c.Name, a, want)
		}
	}
	if before[1] == before[2] {
		t.Fatalf("two slots share %s", before[1])
	}
	if err := e.checkRecords(svc.ID, defaultNet); err != nil {
		t.Fatal(err)
	}
	recs := e.records(svc.ID)

	// A redeploy (stop first) replaces both containers: same addresses,
	// same records.
	e.modifyService(svc.ID, func(s *api.Service) { s.RestartGeneration = 1 })
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 2 || cs[0].Spec.Generation != 1 || cs[1].Spec.Generation != 1 || cs[0].Status.State != api.ContainerRunning || cs[1].Status.State != api.ContainerRunning {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		if got := ipsBySlot(cs, defaultNet); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Errorf("addresses %v, before %v", got, before)
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceRunning, 2)
	after := e.records(svc.ID)
	if len(after) != 2 || after[0].Revision != recs[0].Revision || after[1].Revision != recs[1].Revision {
		t.Fatalf("records changed: %+v, before %+v", after, recs)
	}
}

func TestAddressFollowsTheSlotAfterNodeLossAndDrain(t *testing.T) {
	e := newEnv(t, func(c *Services) { WithNodeLossGrace(300 * time.Millisecond)(c) })
	for _, n := range []string{"n1", "n2", "n3"} {
		e.putNode(n, api.NodeDeployed, execOnly, nil)
	}
	svc := e.createService("db", api.ServiceSpec{Command: []string{"x"}, Replicas: 2, Strategy: api.StrategyHighAvailability})
	var before map[int]string
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 2 || cs[0].Status.State != api.ContainerRunning || cs[1].Status.State != api.ContainerRunning {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		before = ipsBySlot(cs, defaultNet)
		return nil
	})
	lost := e.containers(svc.ID)[0]
	e.putNode(lost.Spec.Node, api.NodeUnreachable, execOnly, nil)
	// Slot 1 runs again elsewhere with its address; the copy left on the
	// lost node keeps it too until its node returns or goes.
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 3 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Slot == 1 && c.ID != lost.ID && (c.Spec.Node == lost.Spec.Node || c.Status.State != api.ContainerRunning) {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		if got := ipsBySlot(cs, defaultNet); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Errorf("addresses %v, before %v", got, before)
		}
		return nil
	})
	if err := e.checkRecords(svc.ID, defaultNet); err != nil {
		t.Fatal(err)
	}

	// Slot 2's node is drained: its replacement has the address too.
	var moving *api.Container
	for _, c := range e.containers(svc.ID) {
		if c.Spec.Slot == 2 {
			moving = c
		}
	}
	e.putNode(moving.Spec.Node, api.NodeTerminating, execOnly, nil)
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		for _, c := range cs {
			if c.Spec.Slot == 2 && (c.ID == moving.ID || c.Status.State != api.ContainerRunning) {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		if got := ipsBySlot(cs, defaultNet); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Errorf("addresses %v, before %v", got, before)
		}
		return nil
	})
	if recs := e.records(svc.ID); len(recs) != 2 {
		t.Fatalf("records: %+v", recs)
	}
}

func TestScaleDownGivesAddressesBack(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("api", api.ServiceSpec{Command: []string{"x"}, Replicas: 3})
	var first map[int]string
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 3 || e.checkRecords(svc.ID, defaultNet) != nil {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		first = ipsBySlot(cs, defaultNet)
		return nil
	})
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Replicas = 1 })
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 1 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.eventually(10*time.Second, func() error {
		recs := e.records(svc.ID)
		if len(recs) != 1 || recs[0].Slot != 1 || recs[0].Address != first[1] {
			return fmt.Errorf("records after scaling to 1: %+v", recs)
		}
		return nil
	})
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Replicas = 3 })
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 3 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return e.checkRecords(svc.ID, defaultNet)
	})
	again := ipsBySlot(e.containers(svc.ID), defaultNet)
	if again[1] != first[1] || again[2] == "" || again[3] == "" || again[2] == again[3] {
		t.Fatalf("addresses %v after %v", again, first)
	}
	// A freed address rests: the next ones are handed out first.
	if again[2] == first[2] || again[2] == first[3] || again[3] == first[2] || again[3] == first[3] {
		t.Fatalf("freed addresses handed out again at once: %v after %v", again, first)
	}

	// Removed: every record goes with the service.
	e.modifyService(svc.ID, func(s *api.Service) { s.Terminating = true })
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 0 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.eventually(10*time.Second, func() error {
		if recs := e.records(svc.ID); len(recs) != 0 {
			return fmt.Errorf("records after removal: %+v", recs)
		}
		if _, err := e.service(svc.ID); err == nil {
			return fmt.Errorf("service not deleted")
		}
		return nil
	})
}

func TestFullSubnetIsPendingAndFreedOnScaleDown(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	small := e.createNetwork("small", "10.9.0.0/29", netalloc.FirstVNI+10) // 5 addresses
	a := e.createService("a", api.ServiceSpec{Command: []string{"x"}, Replicas: 6, Networks: []string{"small"}})
	full := "network small (10.9.0.0/29) has no free address"
	e.agentsUntil(a.ID, func(cs []*api.Container) error {
		if len(cs) != 5 || !strings.Contains(e.pending(a.ID), full) {
			return fmt.Errorf("pending %q, containers: %s", e.pending(a.ID), describe(cs))
		}
		return e.checkRecords(a.ID, small.ID)
	})
	e.setAll(a.ID, api.ContainerRunning, nil)
	e.waitState(a.ID, api.ServicePartlyRunning, 5)
	b := e.createService("b", api.ServiceSpec{Command: []string{"x"}, Replicas: 1, Networks: []string{"small"}})
	e.eventually(10*time.Second, func() error {
		if p := e.pending(b.ID); !strings.Contains(p, full) || len(e.containers(b.ID)) != 0 {
			return fmt.Errorf("b pending %q, containers %s", p, describe(e.containers(b.ID)))
		}
		return nil
	})
	freed := ipsBySlot(e.containers(a.ID), small.ID)[5]

	// a scales down to 4: slot 5's address goes to b, and a's reason goes.
	e.modifyService(a.ID, func(s *api.Service) { s.Spec.Replicas = 4 })
	e.agentsUntil(a.ID, func(cs []*api.Container) error {
		if len(cs) != 4 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(b.ID)
		if len(cs) != 1 || ipOf(cs[0], small.ID) != freed {
			return fmt.Errorf("b: %s (want %s)", describe(cs), freed)
		}
		if p := e.pending(a.ID); p != "" {
			return fmt.Errorf("a still pending: %q", p)
		}
		if p := e.pending(b.ID); p != "" {
			return fmt.Errorf("b still pending: %q", p)
		}
		return e.checkRecords(b.ID, small.ID)
	})
}

func TestServicesNeverShareAnAddress(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	var svcs []*api.Service
	for _, name := range []string{"x", "y", "z"} {
		svcs = append(svcs, e.createService(name, api.ServiceSpec{Command: []string{"x"}, Replicas: 4}))
	}
	e.eventually(10*time.Second, func() error {
		seen := map[string]string{}
		for _, s := range svcs {
			cs := e.containers(s.ID)
			if len(cs) != 4 {
				return fmt.Errorf("%s: %s", s.Name, describe(cs))
			}
			for _, c := range cs {
				ip := ipOf(c, defaultNet)
				if ip == "" {
					return fmt.Errorf("%s has no address", c.Name)
				}
				if other, ok := seen[ip]; ok {
					return fmt.Errorf("%s and %s share %s", c.Name, other, ip)
				}
				seen[ip] = c.Name
			}
			if err := e.checkRecords(s.ID, defaultNet); err != nil {
				return err
			}
		}
		if n := len(e.records("")); n != 12 {
			return fmt.Errorf("%d records", n)
		}
		return nil
	})
}

func TestMissingNetworkAndSeveralNetworks(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("m", api.ServiceSpec{Command: []string{"x"}, Replicas: 2, Networks: []string{"back", "default"}})
	want := "network back does not exist in organization default: create it (wharf network create back --subnet"
	e.eventually(10*time.Second, func() error {
		if p := e.pending(svc.ID); !strings.Contains(p, want) || len(e.containers(svc.ID)) != 0 {
			return fmt.Errorf("pending %q, containers %s", p, describe(e.containers(svc.ID)))
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceNotRunning, 0)
	back := e.createNetwork("back", "10.8.0.0/24", netalloc.FirstVNI+20)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || e.pending(svc.ID) != "" {
			return fmt.Errorf("pending %q, containers %s", e.pending(svc.ID), describe(cs))
		}
		for _, c := range cs {
			if len(c.Spec.Networks) != 2 || c.Spec.Networks[0].Name != "back" || c.Spec.Networks[1].Name != "default" ||
				c.Spec.Networks[0].VNI != back.VNI || !strings.HasPrefix(c.Spec.Networks[0].IP, "10.8.0.") || !strings.HasPrefix(c.Spec.Networks[1].IP, "10.7.") {
				return fmt.Errorf("%s networks %+v", c.Name, c.Spec.Networks)
			}
		}
		if err := e.checkRecords(svc.ID, back.ID); err != nil {
			return err
		}
		if n := len(e.records(svc.ID)); n != 4 {
			return fmt.Errorf("%d records", n)
		}
		return nil
	})
	before := ipsBySlot(e.containers(svc.ID), defaultNet)

	// The service leaves back (an update rolls through the slots): its
	// addresses there go back once the old containers are gone; those on
	// default stay.
	e.modifyService(svc.ID, func(s *api.Service) {
		s.Spec.Networks = []string{"default"}
		s.RestartGeneration++
	})
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 2 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Generation != 1 || len(c.Spec.Networks) != 1 || c.Status.State != api.ContainerRunning {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		if got := ipsBySlot(cs, defaultNet); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Errorf("addresses %v, before %v", got, before)
		}
		return nil
	})
	e.eventually(10*time.Second, func() error {
		for _, r := range e.records(svc.ID) {
			if r.Network != defaultNet {
				return fmt.Errorf("record kept on %s: %+v", r.Network, r)
			}
		}
		return e.checkRecords(svc.ID, defaultNet)
	})
}

func TestStackNamesAndAliases(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	if err := e.st.Create(e.ctx, store.KindStacks, &api.Stack{Meta: api.Meta{ID: "stk1", Name: "Shop"}}); err != nil {
		t.Fatal(err)
	}
	svc := e.createServiceEdited("Shop-db", api.ServiceSpec{Command: []string{"x"}, Replicas: 2}, func(s *api.Service) { s.Stack = "stk1" })
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 {
			return fmt.Errorf("containers %s", describe(cs))
		}
		for _, c := range cs {
			if len(c.Spec.Networks) != 1 {
				return fmt.Errorf("%s networks %+v", c.Name, c.Spec.Networks)
			}
			a := c.Spec.Networks[0]
			slot := fmt.Sprint(c.Spec.Slot)
			if fmt.Sprint(a.Names) != "[shop-db db.shop]" || fmt.Sprint(a.Aliases) != "[shop-db-"+slot+" db-"+slot+".shop]" || a.Stack != "shop" {
				return fmt.Errorf("%s: names %v aliases %v stack %q", c.Name, a.Names, a.Aliases, a.Stack)
			}
		}
		return nil
	})
}

func TestEveryNodeSlotsHoldAddresses(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	svc := e.createService("agent", api.ServiceSpec{Command: []string{"x"}, Strategy: api.StrategyEveryNode})
	e.agentsUntil(svc.ID, func(cs []*api.Container) error {
		if len(cs) != 2 || cs[0].Status.State != api.ContainerRunning || cs[1].Status.State != api.ContainerRunning {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return e.checkRecords(svc.ID, defaultNet)
	})
	// n2 leaves the cluster: its slot is no longer wanted, its address
	// goes back.
	if err := e.st.Delete(e.ctx, store.KindNodes, "n2", 0); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 1 || cs[0].Spec.Node != "n1" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		if recs := e.records(svc.ID); len(recs) != 1 {
			return fmt.Errorf("records: %+v", recs)
		}
		return e.checkRecords(svc.ID, defaultNet)
	})
}

// TestAddressConflictRetries: another writer takes the address the
// controller picks before the controller's watch shows it (held back
// here): the container's creation fails as a whole, the pass runs again
// and the slot gets another address. The stray record, whose service does
// not exist, is then given back.
func TestAddressConflictRetries(t *testing.T) {
	var hiddenID string
	e := newEnv(t, func(c *Services) {
		c.hold = time.Second
		open := c.watch
		c.watch = func(ctx context.Context, rev int64) <-chan store.WatchBatch {
			in, out := open(ctx, rev), make(chan store.WatchBatch)
			go func() {
				defer close(out)
				var held []store.Change
				var release <-chan time.Time
				send := func(b store.WatchBatch) bool {
					select {
					case out <- b:
						return true
					case <-ctx.Done():
						return false
					}
				}
				for {
					select {
					case b, ok := <-in:
						if !ok {
							return
						}
						var keep []store.Change
						for _, ch := range b.Changes {
							if ch.Kind == store.KindAddresses && ch.ID == hiddenID && !ch.Deleted && held == nil {
								held, release = []store.Change{ch}, time.After(300*time.Millisecond)
								continue
							}
							keep = append(keep, ch)
						}
						b.Changes = keep
						if !send(b) || b.Err != nil {
							return
						}
					case <-release:
						release = nil
						if !send(store.WatchBatch{Changes: held, Revision: held[0].Revision}) {
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}()
			return out
		}
	})
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	def, err := netalloc.EnsureDefault(e.ctx, e.st, "")
	if err != nil {
		t.Fatal(err)
	}
	first := netip.MustParseAddr("10.7.0.2")
	hiddenID = netalloc.AddressID(def.ID, first)
	time.Sleep(100 * time.Millisecond) // the network is in the cache
	stray := &api.AddressRecord{Meta: api.Meta{ID: hiddenID}, Network: def.ID, Address: first.String(), Service: "ghost", Slot: 1}
	if err := e.st.Create(e.ctx, store.KindAddresses, stray); err != nil {
		t.Fatal(err)
	}
	svc := e.createService("c", api.ServiceSpec{Command: []string{"x"}, Replicas: 1})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 1 || ipOf(cs[0], def.ID) == "" || ipOf(cs[0], def.ID) == first.String() {
			return fmt.Errorf("containers: %s %+v", describe(cs), cs)
		}
		return e.checkRecords(svc.ID, def.ID)
	})
	e.eventually(10*time.Second, func() error {
		if recs := e.records("ghost"); len(recs) != 0 {
			return fmt.Errorf("stray record kept: %+v", recs)
		}
		return nil
	})
}
