package testcluster

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestServiceLogsFollowAcrossRedeploy: `wharf service logs -f` keeps
// following a service through a redeploy; the new containers of every slot
// join the stream, each line prefixed with the container's name.
func TestServiceLogsFollowAcrossRedeploy(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	joined(t, c, "n1", fake.New())
	joined(t, c, "n2", fake.New())
	waitDeployed(t, c, 2)
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "web", func(s api.Service, _ []api.Container) error {
		if s.Status.State != api.ServiceRunning {
			return fmt.Errorf("state %s", s.Status.State)
		}
		return nil
	})
	body, err := c.Client.Stream(ctx, "/v1/services/web/logs?follow=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// started counts each slot's "started" lines: one per run followed.
	started := map[string]int{}
	read := func(until func() bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for !until() {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended; started lines %v", started)
				}
				name, msg, found := strings.Cut(l, " | ")
				if !found {
					t.Fatalf("a line without its container's name: %q", l)
				}
				if msg == "fake container "+name+" started" {
					started[name]++
				}
			case <-deadline:
				t.Fatalf("not within 30s; started lines %v", started)
			}
		}
	}
	read(func() bool { return started["web-1"] == 1 && started["web-2"] == 1 })
	if _, err := c.Client.RedeployService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	read(func() bool { return started["web-1"] == 2 && started["web-2"] == 2 })
}
