package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

func waitDeployed(t *testing.T, c *Cluster, want int) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		nodes, err := c.Client.Nodes(context.Background())
		if err != nil {
			return err
		}
		n := 0
		for _, nd := range nodes {
			if nd.State == api.NodeDeployed {
				n++
			}
		}
		if n != want {
			return fmt.Errorf("%d of %d nodes deployed", n, want)
		}
		return nil
	})
}

// running counts the service's Running containers by node.
func running(ctx context.Context, c *Cluster, svc string) (map[string]int, int, error) {
	cts, err := c.Client.Containers(ctx, svc, "")
	if err != nil {
		return nil, 0, err
	}
	by, n := map[string]int{}, 0
	for _, ct := range cts {
		if ct.Status.State == api.ContainerRunning {
			by[ct.Spec.Node]++
			n++
		}
	}
	return by, n, nil
}

func waitGone(t *testing.T, c *Cluster, node string, a *Agent, drv *fake.Driver) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		_, err := c.Client.Node(context.Background(), node)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
			return fmt.Errorf("node %s still there: %v", node, err)
		}
		exited, aerr := a.Exited()
		if !exited {
			return errors.New("its agent still runs")
		}
		if aerr == nil || !strings.Contains(aerr.Error(), "removed") {
			return fmt.Errorf("agent exited with %v, want an error saying the node was removed", aerr)
		}
		if l, _ := drv.List(context.Background()); len(l) != 0 {
			return fmt.Errorf("%d containers left on the removed node", len(l))
		}
		return nil
	})
}

// node rm drains a node (its containers run elsewhere before they stop
// there), then removes it and its agent cleans up; --force removes at once.
func TestNodeRemoveDrainsThenForce(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	ctx := context.Background()
	drivers := map[string]*fake.Driver{}
	agents := map[string]*Agent{}
	for i := 1; i <= 3; i++ {
		d := fake.New()
		a := joined(t, c, fmt.Sprintf("n%d", i), d)
		drivers[a.NodeID()], agents[a.NodeID()] = d, a
	}
	waitDeployed(t, c, 3)
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 4}); err != nil {
		t.Fatal(err)
	}
	var by map[string]int
	Eventually(t, 30*time.Second, func() error {
		var n int
		var err error
		if by, n, err = running(ctx, c, "web"); err != nil || n != 4 {
			return fmt.Errorf("%d of 4 running: %v", n, err)
		}
		return nil
	})
	var victim string
	for id, k := range by {
		if k > 0 {
			victim = id
			break
		}
	}

	// Drain: 202 and Terminating; the service never has fewer than 4
	// running containers on the way.
	var n api.Node
	if err := c.Client.Do(ctx, http.MethodDelete, "/v1/nodes/"+victim, nil, &n); err != nil || n.State != api.NodeTerminating {
		t.Fatalf("node rm: %v %+v", err, n.State)
	}
	stop := make(chan struct{})
	low := make(chan int, 1)
	go func() {
		least := 4
		for {
			select {
			case <-stop:
				low <- least
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, k, err := running(ctx, c, "web"); err == nil {
				least = min(least, k)
			}
		}
	}()
	waitGone(t, c, victim, agents[victim], drivers[victim])
	close(stop)
	if least := <-low; least < 4 {
		t.Errorf("running containers dropped to %d while draining", least)
	}
	Eventually(t, 30*time.Second, func() error {
		by, k, err := running(ctx, c, "web")
		if err != nil || k != 4 || by[victim] != 0 {
			return fmt.Errorf("running %v: %v", by, err)
		}
		return nil
	})

	// Force: removed at once (200, Terminated), containers rescheduled.
	var other string
	for id := range drivers {
		if id != victim {
			other = id
			break
		}
	}
	if err := c.Client.Do(ctx, http.MethodDelete, "/v1/nodes/"+other+"?force=1", nil, &n); err != nil || n.State != api.NodeTerminated {
		t.Fatalf("node rm --force: %v %+v", err, n.State)
	}
	waitGone(t, c, other, agents[other], drivers[other])
	Eventually(t, 30*time.Second, func() error {
		by, k, err := running(ctx, c, "web")
		if err != nil || k != 4 || len(by) != 1 {
			return fmt.Errorf("running %v: %v", by, err)
		}
		return nil
	})
}

// After `node join-token --rotate` the old token joins nothing.
func TestRotatedJoinTokenRefused(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	first := c.AddAgent("n1", nil, fake.New()) // caches the first token
	waitDeployed(t, c, 1)
	if _, err := c.Client.JoinToken(ctx, true); err != nil {
		t.Fatal(err)
	}
	late := c.AddAgent("n2", nil, fake.New()) // joins with the old token
	Eventually(t, 30*time.Second, func() error {
		exited, err := late.Exited()
		if !exited {
			return errors.New("agent with a revoked token still runs")
		}
		if err == nil || !strings.Contains(err.Error(), "401") {
			return fmt.Errorf("agent error %v, want a 401 refusal", err)
		}
		return nil
	})
	// The node that joined before the rotation is unaffected.
	if ex, err := first.Exited(); ex {
		t.Fatalf("the first agent exited: %v", err)
	}
	waitDeployed(t, c, 1)
}
