package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// pushToBuiltin pushes the local image src into the cluster's built-in
// registry as "<host>/default/<name>" and returns that reference and its
// digest.
func pushToBuiltin(t *testing.T, c *Cluster, src, name string) (string, string) {
	t.Helper()
	cli := dockertest.Require(t)
	info, err := c.Client.RegistryInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := &dockertest.Registry{Host: info.Host, Auth: &api.RegistryAuth{Username: "ci", Password: c.Token}}
	ref := info.Host + "/default/" + name
	dgst := reg.PushImage(t, cli, src, ref)
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, ref) })
	return ref, dgst
}

// mustDocker runs a docker CLI and fails the test when it fails.
func mustDocker(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	out, err := runDocker(t, bin, env, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return out
}

// refusedDocker runs a docker CLI that must fail saying want.
func refusedDocker(t *testing.T, bin string, env []string, want string, args ...string) {
	t.Helper()
	out, err := runDocker(t, bin, env, args...)
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("%s %s: want a refusal saying %q, got err=%v:\n%s", bin, strings.Join(args, " "), want, err, out)
	}
}

// TestDockerImagesNetworksVolumes: both docker CLIs list, inspect, pull
// and remove the built-in registry's images, create, list, inspect and
// remove networks, and declare and list volumes through the Docker
// endpoint; what Wharf cannot do is refused with what to use instead.
func TestDockerImagesNetworksVolumes(t *testing.T) {
	hello := dockertest.HelloImage(t)
	c := Start(t, Options{Docker: true})
	env, _ := c.DockerEnv(t, "docker-compose-images", api.RoleAdmin)
	ref, dgst := pushToBuiltin(t, c, hello, "dc-web:v1")
	host := strings.SplitN(ref, "/", 2)[0]
	for i, bin := range dockerCLIs {
		if _, err := os.Stat(bin); err != nil {
			t.Logf("%s: not installed", bin)
			continue
		}
		// Images: the registry's, by tag and digest.
		out := mustDocker(t, bin, env, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
		if !strings.Contains(out, ref+" "+dgst) {
			t.Errorf("%s images: want %s %s in\n%s", bin, ref, dgst, out)
		}
		if out := mustDocker(t, bin, env, "image", "inspect", "--format", "{{.Id}} {{index .RepoDigests 0}}", ref); strings.TrimSpace(out) != dgst+" "+strings.TrimSuffix(ref, ":v1")+"@"+dgst {
			t.Errorf("%s image inspect: %q", bin, out)
		}
		refusedDocker(t, bin, env, "No such image", "image", "inspect", host+"/default/dc-none:v1")
		// Pull: resolved to the digest, the nodes pull on placement.
		if out := mustDocker(t, bin, env, "pull", ref); !strings.Contains(out, "Digest: "+dgst) {
			t.Errorf("%s pull: want the digest in\n%s", bin, out)
		}
		refusedDocker(t, bin, env, "is not in the built-in registry", "pull", host+"/default/dc-none:v1")
		// rmi: a registry tag goes; an image only on an engine is refused.
		gone, _ := pushToBuiltin(t, c, hello, "dc-rm"+string(rune('a'+i))+":v1")
		if out := mustDocker(t, bin, env, "rmi", gone); !strings.Contains(out, "Untagged: "+gone) {
			t.Errorf("%s rmi: %s", bin, out)
		}
		if out := mustDocker(t, bin, env, "images", "--format", "{{.Repository}}:{{.Tag}}"); strings.Contains(out, gone) {
			t.Errorf("%s images after rmi still lists %s:\n%s", bin, gone, out)
		}
		refusedDocker(t, bin, env, "No such image", "rmi", hello)

		// Networks: create (a free /16), ls, inspect, rm.
		name := "dc_net" + string(rune('a'+i))
		wname := strings.ReplaceAll(name, "_", "-")
		mustDocker(t, bin, env, "network", "create", "--label", "x=y", name)
		if out := mustDocker(t, bin, env, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"); !strings.Contains(out, wname+" overlay swarm") || !strings.Contains(out, "default overlay swarm") {
			t.Errorf("%s network ls:\n%s", bin, out)
		}
		out = mustDocker(t, bin, env, "network", "inspect", "--format", "{{.Name}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", name)
		if !strings.HasPrefix(out, wname+" overlay 10.") {
			t.Errorf("%s network inspect: %q", bin, out)
		}
		refusedDocker(t, bin, env, "wharf service update", "network", "disconnect", name, "some-container")
		refusedDocker(t, bin, env, "some-container", "network", "connect", name, "some-container")
		refusedDocker(t, bin, env, "already exists", "network", "create", name)
		refusedDocker(t, bin, env, "IPv6", "network", "create", "--ipv6", "dc-v6")
		mustDocker(t, bin, env, "network", "rm", name)
		refusedDocker(t, bin, env, name, "network", "inspect", name)
		refusedDocker(t, bin, env, "default network cannot be removed", "network", "rm", "default")

		// Volumes: a declared name is accepted, ls lists what services
		// mount, rm of an unknown one says so.
		if out := mustDocker(t, bin, env, "volume", "create", "dc-data"); strings.TrimSpace(out) != "dc-data" {
			t.Errorf("%s volume create: %q", bin, out)
		}
		mustDocker(t, bin, env, "volume", "ls")
		refusedDocker(t, bin, env, "driver", "volume", "create", "--driver", "nfs", "dc-nfs")
		refusedDocker(t, bin, env, "dc-data", "volume", "rm", "dc-data")
	}
	// The network calls went through the domain: the REST API agrees.
	nets, err := c.Client.Networks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if strings.HasPrefix(n.Name, "dc-net") {
			t.Errorf("network %s is still there", n.Name)
		}
	}
}

// composeBin is docker-compose 1.29 (Python, docker-py, API 1.41).
const composeBin = "/usr/bin/docker-compose"

// runCompose runs docker-compose on file with env and returns its
// combined output.
func runCompose(t *testing.T, env []string, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(composeBin, append([]string{"--no-ansi", "-p", "dcproj", "-f", filepath.Join(dir, "docker-compose.yml")}, args...)...)
	cmd.Dir = dir
	// requests puts REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, when set, in
	// place of docker-py's ca.pem: the endpoint's CA would not be trusted.
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(append(base, "DOCKER_CONFIG="+t.TempDir(), "COMPOSE_HTTP_TIMEOUT=120"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDockerCompose: the real docker-compose 1.29 against the Docker
// endpoint of a cluster of three agents on the docker driver: up -d of a
// two-service file with --scale places the containers across the nodes
// (as Wharf's API shows them), ps lists them, logs shows what they
// printed (served by the streams part), the declared volume and the
// project's network are listed, and down -v removes the containers and
// the network.
func TestDockerCompose(t *testing.T) {
	if _, err := os.Stat(composeBin); err != nil {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
			t.Fatalf("%s: not installed (apt-get install -y docker-compose); WHARF_REQUIRE_DOCKER=1 needs it", composeBin)
		}
		t.Skipf("%s: not installed", composeBin)
	}
	hello := dockertest.HelloImage(t)
	c := Start(t, Options{Docker: true})
	for _, n := range []string{"c1", "c2", "c3"} {
		c.AddAgent(n, nil, newDockerDriver(t, docker.Options{}))
	}
	ref, _ := pushToBuiltin(t, c, hello, "dc-compose:v1")
	env, _ := c.DockerEnv(t, "docker-compose-test", api.RoleAdmin)
	ctx := context.Background()
	Eventually(t, 30*time.Second, func() error {
		nodes, err := c.Client.Nodes(ctx)
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes {
			if n.State == api.NodeDeployed {
				ready++
			}
		}
		if ready < 3 {
			return fmt.Errorf("%d nodes deployed", ready)
		}
		return nil
	})
	dir := t.TempDir()
	file := "version: \"2.4\"\nservices:\n" +
		"  web:\n    image: " + ref + "\n    command: [\"hello\", \"--say\", \"compose-web\"]\n" +
		"  worker:\n    image: " + ref + "\n    command: [\"hello\", \"--say\", \"compose-worker\"]\n    volumes: [\"data:/data\"]\n" +
		"volumes:\n  data: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) string {
		t.Helper()
		out, err := runCompose(t, env, dir, args...)
		if err != nil {
			vout, _ := runCompose(t, env, dir, append([]string{"--verbose"}, args...)...)
			t.Fatalf("docker-compose %s: %v\n%s\nwith --verbose:\n%s", strings.Join(args, " "), err, out, vout)
		}
		return out
	}
	t.Cleanup(func() { _, _ = runCompose(t, env, dir, "down") })

	compose("up", "-d", "--scale", "web=3")
	// Wharf's API: four containers running, on more than one node.
	nodesOf := map[string]bool{}
	Eventually(t, 60*time.Second, func() error {
		nodesOf = map[string]bool{}
		svcs, err := c.Client.Services(ctx)
		if err != nil {
			return err
		}
		running := 0
		for _, s := range svcs {
			if !strings.HasPrefix(s.Name, "dcproj") {
				continue
			}
			cts, err := c.Client.Containers(ctx, s.Name, "")
			if err != nil {
				return err
			}
			for _, ct := range cts {
				if ct.Status.State == api.ContainerRunning {
					running++
					nodesOf[ct.Spec.Node] = true
				}
			}
		}
		if running != 4 {
			return fmt.Errorf("%d containers of the project run, want 4", running)
		}
		return nil
	})
	if len(nodesOf) < 2 {
		t.Errorf("the project's containers run on %d node(s), want them spread", len(nodesOf))
	}
	ps := compose("ps")
	for _, name := range []string{"dcproj-web-1", "dcproj-web-2", "dcproj-web-3", "dcproj-worker-1"} {
		if !strings.Contains(ps, name) {
			t.Errorf("docker-compose ps lacks %s:\n%s", name, ps)
		}
	}
	if strings.Count(ps, "Up") != 4 {
		t.Errorf("docker-compose ps: want 4 containers Up:\n%s", ps)
	}
	// Logs: served by the streams part (docker-streams).
	Eventually(t, 30*time.Second, func() error {
		out, err := runCompose(t, env, dir, "logs", "--no-color")
		if err != nil || !strings.Contains(out, "compose-web") || !strings.Contains(out, "compose-worker") {
			return fmt.Errorf("docker-compose logs: %v\n%s", err, out)
		}
		return nil
	})

	// The declared volume: compose created it; the worker mounts it.
	for _, bin := range dockerCLIs {
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		if out := mustDocker(t, bin, env, "volume", "ls", "--format", "{{.Name}} {{.Driver}}"); !strings.Contains(out, "dcproj_data local") {
			t.Errorf("%s volume ls after up: want dcproj_data:\n%s", bin, out)
		}
		if out := mustDocker(t, bin, env, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "dcproj-default") {
			t.Errorf("%s network ls after up: want dcproj-default:\n%s", bin, out)
		}
	}

	compose("down", "-v")
	svcs, err := c.Client.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if strings.HasPrefix(s.Name, "dcproj") {
			t.Errorf("after down, service %s is still there", s.Name)
		}
	}
	nets, err := c.Client.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if strings.HasPrefix(n.Name, "dcproj") {
			t.Errorf("after down, network %s is still there", n.Name)
		}
	}
}
