package testcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestServiceOfSixLandsTwoPerNode is the in-process cluster test: a real
// server and three agents (fake driver); a service of 6 lands 2 per node and
// every container reaches Running.
func TestServiceOfSixLandsTwoPerNode(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		c.AddAgent(fmt.Sprintf("n%d", i), nil, fake.New())
	}
	Eventually(t, 30*time.Second, func() error {
		nodes, err := c.Client.Nodes(ctx)
		if err != nil {
			return err
		}
		deployed := 0
		for _, n := range nodes {
			if n.State == api.NodeDeployed {
				deployed++
			}
		}
		if deployed != 3 {
			return fmt.Errorf("%d of 3 nodes deployed", deployed)
		}
		return nil
	})
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 6}); err != nil {
		t.Fatal(err)
	}
	var cts []api.Container
	Eventually(t, 30*time.Second, func() error {
		var err error
		cts, err = c.Client.Containers(ctx, "web", "")
		if err != nil {
			return err
		}
		running := 0
		for _, ct := range cts {
			if ct.Status.State == api.ContainerRunning {
				running++
			}
		}
		if running != 6 {
			return fmt.Errorf("%d of 6 running", running)
		}
		return nil
	})
	perNode := map[string]int{}
	names := map[string]bool{}
	for _, ct := range cts {
		perNode[ct.Spec.Node]++
		names[ct.Name] = true
	}
	if len(perNode) != 3 {
		t.Fatalf("containers on %d nodes: %v", len(perNode), perNode)
	}
	for n, k := range perNode {
		if k != 2 {
			t.Fatalf("node %s has %d containers, want 2 (%v)", n, k, perNode)
		}
	}
	for i := 1; i <= 6; i++ {
		if !names[fmt.Sprintf("web-%d", i)] {
			t.Fatalf("no container web-%d among %v", i, names)
		}
	}
	s, err := c.Client.Service(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, func() error {
		s, err = c.Client.Service(ctx, "web")
		if err != nil {
			return err
		}
		if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 6 {
			return fmt.Errorf("service %s with %d running", s.Status.State, s.Status.RunningContainers)
		}
		return nil
	})
}
