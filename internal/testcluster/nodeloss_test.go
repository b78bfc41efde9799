package testcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// liveSlots maps slot to the nodes whose containers for it are desired
// Running and reported Running.
func liveSlots(ctx context.Context, c *Cluster, svc string) (map[int][]string, error) {
	cts, err := c.Client.Containers(ctx, svc, "")
	if err != nil {
		return nil, err
	}
	out := map[int][]string{}
	for _, ct := range cts {
		if ct.Spec.Desired == api.ContainerRunning && ct.Status.State == api.ContainerRunning {
			out[ct.Spec.Slot] = append(out[ct.Spec.Slot], ct.Spec.Node)
		}
	}
	return out, nil
}

func runningIn(d *fake.Driver) int {
	l, _ := d.List(context.Background())
	n := 0
	for _, st := range l {
		if st.State == runtime.StateRunning {
			n++
		}
	}
	return n
}

// A node unreachable past the grace has its slots replaced elsewhere; when
// it heals, its agent stops the old copies, so every slot runs once.
func TestNodeLossReplacesThenHealRunsEachSlotOnce(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: time.Second, NodeLossGrace: time.Second})
	ctx := context.Background()
	drivers := map[string]*fake.Driver{}
	agents := map[string]*Agent{}
	for i := 1; i <= 3; i++ {
		d := fake.New()
		a := joined(t, c, fmt.Sprintf("n%d", i), d)
		drivers[a.NodeID()], agents[a.NodeID()] = d, a
	}
	waitDeployed(t, c, 3)
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 6}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		if _, n, err := running(ctx, c, "web"); err != nil || n != 6 {
			return fmt.Errorf("%d of 6 running: %v", n, err)
		}
		return nil
	})
	var victim string
	for id := range agents {
		victim = id
		break
	}
	va := agents[victim]
	va.Stop() // its containers keep running in the fake driver
	lost := time.Now()
	Eventually(t, 30*time.Second, func() error {
		slots, err := liveSlots(ctx, c, "web")
		if err != nil {
			return err
		}
		for slot := 1; slot <= 6; slot++ {
			if len(slots[slot]) != 1 || slots[slot][0] == victim {
				return fmt.Errorf("slots: %v", slots)
			}
		}
		return nil
	})
	t.Logf("node lost -> 6 running on 2 nodes in %v (heartbeat grace 1s + node-loss grace 1s)", time.Since(lost).Round(time.Millisecond))
	if n := runningIn(drivers[victim]); n != 2 {
		t.Fatalf("the cut-off node runs %d containers, want its 2 old copies", n)
	}

	c.StartAgent(va.Dir, "healed", nil, drivers[victim])
	healed := time.Now()
	Eventually(t, 30*time.Second, func() error {
		slots, err := liveSlots(ctx, c, "web")
		if err != nil {
			return err
		}
		for slot := 1; slot <= 6; slot++ {
			if len(slots[slot]) != 1 {
				return fmt.Errorf("slots: %v", slots)
			}
		}
		total := 0
		for _, d := range drivers {
			total += runningIn(d)
		}
		if total != 6 {
			return fmt.Errorf("%d runs in the drivers, want 6", total)
		}
		old, err := c.Client.Containers(ctx, "web", victim)
		if err != nil {
			return err
		}
		for _, ct := range old {
			if ct.Spec.Desired == api.ContainerTerminated && ct.Status.State != api.ContainerTerminated {
				return fmt.Errorf("old copy %s is %s", ct.Name, ct.Status.State)
			}
		}
		return nil
	})
	t.Logf("node healed -> each slot runs exactly once in %v", time.Since(healed).Round(time.Millisecond))
	// The old copies, confirmed Terminated, are deleted; the service runs.
	Eventually(t, 30*time.Second, func() error {
		old, err := c.Client.Containers(ctx, "web", victim)
		if err != nil {
			return err
		}
		for _, ct := range old {
			if ct.Spec.Desired == api.ContainerTerminated {
				return fmt.Errorf("old copy %s still stored", ct.Name)
			}
		}
		if s, err := c.Client.Service(ctx, "web"); err != nil || s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 6 {
			return fmt.Errorf("service: %+v %v", s.Status, err)
		}
		return nil
	})
}
