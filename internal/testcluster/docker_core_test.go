package testcluster

// docker_core_test.go tests the Docker endpoint's system calls (docker
// info, docker events) with the machine's docker CLIs.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// installedDockerCLIs are the docker CLIs of dockerCLIs that are here.
func installedDockerCLIs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, bin := range dockerCLIs {
		if _, err := os.Stat(bin); err == nil {
			out = append(out, bin)
		}
	}
	if len(out) == 0 {
		t.Skip("no docker CLI on this machine")
	}
	return out
}

// TestDockerInfoShowsTheNodes: both docker CLIs' `docker info` show Wharf
// as the engine, the organization's containers and each node with its
// labels and containers, as Swarm classic did.
func TestDockerInfoShowsTheNodes(t *testing.T) {
	bins := installedDockerCLIs(t)
	c := Start(t, Options{Docker: true})
	ctx := context.Background()
	c.AddAgent("alpha", map[string]string{"zone": "external"}, fake.New())
	c.AddAgent("beta", map[string]string{"disk": "ssd"}, fake.New())
	waitDeployed(t, c, 2)
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		cts, err := c.Client.Containers(ctx, "web", "")
		if err != nil {
			return err
		}
		for _, ct := range cts {
			if ct.Status.State != api.ContainerRunning {
				return fmt.Errorf("%s is %s", ct.Name, ct.Status.State)
			}
		}
		if len(cts) != 3 {
			return fmt.Errorf("%d containers", len(cts))
		}
		return nil
	})
	env, _ := c.DockerEnv(t, "docker-info", api.RoleReadOnly)
	for _, bin := range bins {
		out, err := runDocker(t, bin, env, "info")
		if err != nil {
			t.Fatalf("%s info: %v\n%s", bin, err, out)
		}
		t.Logf("%s info:\n%s", bin, out)
		for _, want := range []string{
			"Containers: 3", "Running: 3", "Operating System: Wharf", "Server Version: test",
			"Nodes: 2", "alpha", "beta", "zone=external", "disk=ssd", "Status: Healthy",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s info lacks %q", bin, want)
			}
		}
		out, err = runDocker(t, bin, env, "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.OperatingSystem}} {{len .SystemStatus}}")
		if err != nil {
			t.Fatalf("%s info --format: %v\n%s", bin, err, out)
		}
		if !strings.HasPrefix(out, "3 3 Wharf ") {
			t.Errorf("%s info --format: %q", bin, out)
		}
	}
}

// TestDockerEventsFromWharf: `docker events` shows a service's containers
// starting and dying in Docker's format, with their node, filtered by
// --filter; --since/--until replay the stored ones and end.
func TestDockerEventsFromWharf(t *testing.T) {
	bins := installedDockerCLIs(t)
	c := Start(t, Options{Docker: true})
	ctx := context.Background()
	c.AddAgent("alpha", nil, fake.New())
	waitDeployed(t, c, 1)
	env, _ := c.DockerEnv(t, "docker-events", api.RoleReadOnly)
	start := time.Now().Add(-time.Second)

	// A live stream, filtered to starts; --since replays what happened
	// before it connected, so that nothing is missed.
	live := exec.Command(bins[0], "events", "--since", fmt.Sprint(start.Unix()), "--filter", "event=start", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes \"node.name\"}}")
	live.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
	liveOut := &lockedBuffer{}
	live.Stdout, live.Stderr = liveOut, liveOut
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })

	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		cts, err := c.Client.Containers(ctx, "web", "")
		if err != nil || len(cts) != 1 || cts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("web-1 not running yet (%v)", err)
		}
		return nil
	})
	if _, err := c.Client.ServiceAction(ctx, "web", "stop"); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		cts, err := c.Client.Containers(ctx, "web", "")
		if err != nil || len(cts) != 1 || cts[0].Status.State != api.ContainerStopped {
			return fmt.Errorf("web-1 not stopped yet (%v)", err)
		}
		return nil
	})
	Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(liveOut.String(), "container start web-1 alpha") {
			return fmt.Errorf("live events so far: %q", liveOut.String())
		}
		return nil
	})
	if strings.Contains(liveOut.String(), " die ") {
		t.Errorf("the live stream was filtered to start: %q", liveOut.String())
	}

	// Replayed: --since and --until end the stream by themselves.
	until := fmt.Sprint(time.Now().Add(time.Second).Unix())
	for _, bin := range bins {
		out, err := runDocker(t, bin, env, "events", "--since", fmt.Sprint(start.Unix()), "--until", until,
			"--filter", "container=web-1", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
		if err != nil {
			t.Fatalf("%s events: %v\n%s", bin, err, out)
		}
		for _, want := range []string{"container create web-1", "container start web-1", "container die web-1"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s events lacks %q:\n%s", bin, want, out)
			}
		}
	}
	out, err := runDocker(t, bins[0], env, "events", "--since", "1", "--until", "2", "--filter", "bogus=1")
	if err == nil || !strings.Contains(out, "invalid filter 'bogus'") {
		t.Errorf("events with an unknown filter: %v %q", err, out)
	}
}
