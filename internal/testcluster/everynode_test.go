package testcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// An EVERY_NODE service runs one container on each node carrying its tags:
// a node that joins with them gets one, a node whose label goes away has
// its container terminated, and the service cannot be scaled by hand.
func TestEveryNodeFollowsLabels(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	web := map[string]string{"role": "web"}
	join := func(name string, labels map[string]string) string {
		a := c.AddAgent(name, labels, fake.New())
		Eventually(t, 30*time.Second, func() error {
			if a.NodeID() == "" {
				return errors.New("not joined")
			}
			return nil
		})
		return a.NodeID()
	}
	n1, n2 := join("n1", web), join("n2", web)
	join("n3", nil)
	waitDeployed(t, c, 3)

	if _, err := c.Client.CreateService(ctx, "agent", api.ServiceSpec{
		Command: []string{"serve"}, Driver: "fake", Strategy: api.StrategyEveryNode, Tags: []string{"role=web"},
	}); err != nil {
		t.Fatal(err)
	}
	// expect waits until the service's live containers are exactly one
	// Running on each of nodes, named "agent-<n>", and its status agrees.
	expect := func(nodes ...string) {
		t.Helper()
		want := slices.Sorted(slices.Values(nodes))
		Eventually(t, 30*time.Second, func() error {
			cts, err := c.Client.Containers(ctx, "agent", "")
			if err != nil {
				return err
			}
			by := map[string]int{}
			for _, ct := range cts {
				if ct.Spec.Desired == api.ContainerTerminated {
					continue
				}
				if ct.Status.State != api.ContainerRunning {
					return fmt.Errorf("%s is %s", ct.Name, ct.Status.State)
				}
				if !strings.HasPrefix(ct.Name, "agent-") {
					return fmt.Errorf("container named %q", ct.Name)
				}
				by[ct.Spec.Node]++
			}
			if got := slices.Sorted(maps.Keys(by)); !slices.Equal(got, want) || len(by) != len(cts) {
				return fmt.Errorf("containers on %v (%d in all), want one on each of %v", by, len(cts), want)
			}
			svc, err := c.Client.Service(ctx, "agent")
			if err != nil {
				return err
			}
			if svc.Status.State != api.ServiceRunning || svc.Status.RunningContainers != len(want) {
				return fmt.Errorf("service %s with %d running", svc.Status.State, svc.Status.RunningContainers)
			}
			return nil
		})
	}
	expect(n1, n2)

	n4 := join("n4", web)
	waitDeployed(t, c, 4)
	expect(n1, n2, n4)

	if _, err := c.Client.LabelNode(ctx, n2, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	expect(n1, n4) // the container on n2 is terminated and gone

	_, err := c.Client.ScaleService(ctx, "agent", 5)
	var ce *client.Error
	if !errors.As(err, &ce) || (ce.Status != http.StatusConflict && ce.Status != http.StatusBadRequest) ||
		!strings.Contains(err.Error(), "cannot be scaled by hand") {
		t.Fatalf("scale of an EVERY_NODE service: %v, want a 409 saying it cannot be scaled by hand", err)
	}
	expect(n1, n4)

	// A restart replaces each container in place: same node, same name.
	names := func() map[string]string {
		t.Helper()
		cts, err := c.Client.Containers(ctx, "agent", "")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, ct := range cts {
			if ct.Spec.Desired != api.ContainerTerminated {
				m[ct.Spec.Node] = ct.Name
			}
		}
		return m
	}
	before := names()
	svc, err := c.Client.RestartService(ctx, "agent")
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		cts, err := c.Client.Containers(ctx, "agent", "")
		if err != nil {
			return err
		}
		for _, ct := range cts {
			if ct.Spec.Generation != svc.RestartGeneration || ct.Status.State != api.ContainerRunning {
				return fmt.Errorf("%s: generation %d, %s", ct.Name, ct.Spec.Generation, ct.Status.State)
			}
		}
		return nil
	})
	expect(n1, n4)
	if after := names(); !maps.Equal(before, after) {
		t.Errorf("after the restart containers by node are %v, want %v", after, before)
	}
}
