package controller

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netalloc"
)

// bigCache is 1,000 nodes and 1,000 services of 10 replicas; with placed,
// every container exists, is placed, runs and holds its slot's address.
func bigCache(placed bool) *Services {
	c := NewServices(nil, nil)
	c.cache = newCache()
	c.dirty = map[string]bool{}
	cacheDefaultNetwork(c)
	addr := netip.MustParseAddr("10.7.0.1") // the gateway: slots' addresses follow
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("n%04d", i)
		c.cache.nodes[id] = &api.Node{Meta: api.Meta{ID: id, Revision: 1}, State: api.NodeDeployed, Drivers: []string{"exec"}}
	}
	for i := 0; i < 1000; i++ {
		svc := &api.Service{Meta: api.Meta{ID: fmt.Sprintf("s%04d", i), Name: fmt.Sprintf("svc%d", i), Revision: 1},
			Spec: api.ServiceSpec{Command: []string{"x"}, Replicas: 10, Running: true}}
		c.cache.services[svc.ID] = svc
		if !placed {
			svc.Status.State = api.ServiceNotRunning
			continue
		}
		svc.Status = api.ServiceStatus{State: api.ServiceRunning, RunningContainers: 10, Synchronized: true}
		for slot := 1; slot <= 10; slot++ {
			addr = addr.Next()
			c.cache.putAddr(&api.AddressRecord{Meta: api.Meta{ID: netalloc.AddressID(defaultNet, addr), Revision: 1},
				Network: defaultNet, Address: addr.String(), Service: svc.ID, Slot: slot})
			c.cache.putContainer(&api.Container{
				Meta: api.Meta{ID: fmt.Sprintf("%s-c%d", svc.ID, slot), Name: fmt.Sprintf("%s-%d", svc.Name, slot), Revision: 1},
				Spec: api.ContainerSpec{Service: svc.ID, Slot: slot, Node: fmt.Sprintf("n%04d", (i*10+slot)%1000), Command: []string{"x"}, Driver: "exec", Desired: api.ContainerRunning,
					Networks: []api.NetworkAttachment{{Network: defaultNet, Name: "default", IP: addr.String()}}},
				Status: api.ContainerStatus{State: api.ContainerRunning},
			})
		}
	}
	c.markAll()
	return c
}

func TestSteadyStateIsCheapAndQuiet(t *testing.T) {
	c := bigCache(true)
	start := time.Now()
	units := c.decide(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Errorf("a full pass over 1,000 services and 10,000 containers took %v", d)
	}
	if len(units) != 0 {
		t.Fatalf("steady state wants %d writes, e.g. %+v", len(units), units[0][0])
	}
}

func TestFullPlacementPassIsFast(t *testing.T) {
	c := bigCache(false)
	start := time.Now()
	units := c.decide(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("placing 10,000 containers of 1,000 services on 1,000 nodes took %v", d)
	}
	perNode := map[string]int{}
	ips := map[string]bool{}
	n := 0
	for _, u := range units {
		for _, o := range u {
			if ct, ok := o.obj.(*api.Container); ok && o.create {
				n++
				perNode[ct.Spec.Node]++
				if len(o.also) != 1 || len(ct.Spec.Networks) != 1 || o.also[0].Address != ct.Spec.Networks[0].IP || ips[o.also[0].Address] {
					t.Fatalf("%s: networks %+v, records %+v", ct.Name, ct.Spec.Networks, o.also)
				}
				ips[o.also[0].Address] = true
			}
		}
	}
	if n != 10000 || len(perNode) != 1000 {
		t.Fatalf("%d created on %d nodes", n, len(perNode))
	}
	for node, k := range perNode {
		if k != 10 {
			t.Fatalf("%s got %d", node, k)
		}
	}
}
