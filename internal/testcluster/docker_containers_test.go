package testcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// dockerClusterOf starts a cluster with the Docker endpoint and two agents
// on the docker driver, n1 (zone=internal) and n2 (zone=external), and
// returns it with a client environment and the test image.
func dockerClusterOf(t *testing.T) (*Cluster, []string, string) {
	t.Helper()
	dockertest.Require(t)
	image := dockertest.HelloImage(t)
	c := Start(t, Options{Docker: true})
	c.AddAgent("n1", map[string]string{"zone": "internal"}, newDockerDriver(t, docker.Options{}))
	c.AddAgent("n2", map[string]string{"zone": "external"}, newDockerDriver(t, docker.Options{}))
	// docker run checks placement at once: the nodes must be Deployed.
	waitDeployed(t, c, 2)
	env, _ := c.DockerEnv(t, "docker-containers-test", "admin")
	return c, env, image
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// dockerOK runs the CLI and fails the test on an error.
func dockerOK(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	out, err := runDocker(t, bin, env, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// dockerFails runs the CLI, wants an error whose output holds want.
func dockerFails(t *testing.T, bin string, env []string, want string, args ...string) {
	t.Helper()
	out, err := runDocker(t, bin, env, args...)
	if err == nil {
		t.Fatalf("%s %s: succeeded, want an error with %q\n%s", bin, strings.Join(args, " "), want, out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("%s %s: want %q in the error, got %q", bin, strings.Join(args, " "), want, out)
	}
}

var dockerIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestDockerContainers: docker run, ps, inspect, port, stop, start,
// restart, kill, wait, rename and rm through the Docker endpoint, with
// Swarm classic's placement, on two nodes running the docker driver.
func TestDockerContainers(t *testing.T) {
	_, env, image := dockerClusterOf(t)
	bin := dockerCLIs[0]
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s: not installed", bin)
	}
	port := freePort(t)
	id := dockerOK(t, bin, env, "run", "-d", "--name", "web", "-e", "FOO=bar", "-p", strconv.Itoa(port)+":8080",
		"--label", "tier=front", "--memory", "64m", "--cpus", "0.5", "--restart", "unless-stopped", image)
	if !dockerIDRE.MatchString(id) {
		t.Fatalf("docker run -d printed %q, want a 16-digit ID", id)
	}

	// ps shows node/name, the image, ports and the status line.
	ps := dockerOK(t, bin, env, "ps", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Status}} {{.Ports}}")
	if !regexp.MustCompile(`(?m)^` + id[:12] + ` n[12]/web ` + regexp.QuoteMeta(image) + ` Up .* 0\.0\.0\.0:` + strconv.Itoa(port) + `->8080/tcp$`).MatchString(ps) {
		t.Errorf("docker ps:\n%s\nwant a line for %s n?/web %s Up ... 0.0.0.0:%d->8080/tcp", ps, id[:12], image, port)
	}

	// inspect has Swarm's Node section and the settings asked for.
	got := dockerOK(t, bin, env, "inspect", "-f", `{{.Node.Name}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{index .Config.Labels "tier"}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Env}}`, id[:12])
	node, rest, _ := strings.Cut(got, " ")
	if (node != "n1" && node != "n2") || rest != "67108864 500000000 front always [FOO=bar]" {
		t.Errorf("docker inspect web: %q", got)
	}
	// The node/name reference, slash and all, in the path.
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Id}}", node+"/web"); got != id {
		t.Errorf("docker inspect %s/web: %q, want %s", node, got, id)
	}
	if got := dockerOK(t, bin, env, "port", "web", "8080"); !strings.Contains(got, ":"+strconv.Itoa(port)) {
		t.Errorf("docker port web 8080: %q", got)
	}

	// Placement: a constraint on the node, an affinity to a container, and
	// a constraint no node meets.
	dockerOK(t, bin, env, "run", "-d", "--name", "pinned", "-e", "constraint:node==n2", "-e", "A=1", image)
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Node.Name}} {{.Config.Env}}", "pinned"); got != "n2 [A=1]" {
		t.Errorf("pinned: %q, want n2 [A=1] (the constraint left out of the environment)", got)
	}
	dockerOK(t, bin, env, "run", "-d", "--name", "edge", "-e", "constraint:zone==internal", image)
	dockerOK(t, bin, env, "run", "-d", "--name", "beside", "-e", "affinity:container==edge", image)
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Node.Name}}", "beside"); got != "n1" {
		t.Errorf("beside (affinity:container==edge, edge on n1): on %q", got)
	}
	dockerFails(t, bin, env, "unable to find a node that satisfies", "run", "-d", "--name", "nowhere", "-e", "constraint:zone==mars", image)
	if got := dockerOK(t, bin, env, "ps", "-a", "--filter", "node=n2", "--format", "{{.Names}}"); !strings.Contains(got, "n2/pinned") || strings.Contains(got, "n1/") {
		t.Errorf("docker ps --filter node=n2: %q", got)
	}

	// stop, start, restart, kill keep the ID; wait returns the exit code.
	dockerOK(t, bin, env, "stop", "web")
	if got := dockerOK(t, bin, env, "ps", "-a", "--filter", "name=web", "--format", "{{.ID}} {{.Status}}"); !strings.HasPrefix(got, id[:12]+" Exited (") {
		t.Errorf("after docker stop: %q", got)
	}
	dockerOK(t, bin, env, "start", "web")
	dockerOK(t, bin, env, "restart", "web")
	if got := dockerOK(t, bin, env, "ps", "--filter", "name=web", "--format", "{{.ID}} {{.Status}}"); !strings.HasPrefix(got, id[:12]+" Up ") {
		t.Errorf("after docker restart: %q", got)
	}
	dockerFails(t, bin, env, "container is running", "rm", "web")
	dockerOK(t, bin, env, "kill", "web")
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.State.Status}}", "web"); got != "exited" {
		t.Errorf("after docker kill: %q", got)
	}
	dockerFails(t, bin, env, "cannot send signal", "kill", "-s", "HUP", "pinned")
	dockerOK(t, bin, env, "run", "-d", "--name", "ends", image, "hello", "--exit-code", "3")
	if got := dockerOK(t, bin, env, "wait", "ends"); got != "3" {
		t.Errorf("docker wait ends: %q, want 3", got)
	}

	// rename, then rm -f.
	dockerOK(t, bin, env, "rename", "pinned", "moved")
	if got := dockerOK(t, bin, env, "ps", "--format", "{{.Names}}", "--filter", "name=moved"); got != "n2/moved" {
		t.Errorf("after docker rename: %q", got)
	}
	dockerOK(t, bin, env, "rm", "-f", "moved", "web", "ends")
	if got := dockerOK(t, bin, env, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(got, "moved") || strings.Contains(got, "/web") {
		t.Errorf("after docker rm -f: %q", got)
	}

	// docker create, then docker start; a generated name.
	created := dockerOK(t, bin, env, "create", "--name", "later", image)
	if got := dockerOK(t, bin, env, "ps", "-a", "--filter", "id="+created[:12], "--format", "{{.Names}} {{.Status}}"); got != "later Created" {
		t.Errorf("after docker create: %q, want %q", got, "later Created")
	}
	dockerOK(t, bin, env, "start", "later")
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Id}} {{.State.Status}}", "later"); got != created+" running" {
		t.Errorf("after docker start: %q, want %s running (the ID docker create printed)", got, created)
	}
	anon := dockerOK(t, bin, env, "run", "-d", image)
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Name}}", anon); !regexp.MustCompile(`^/[a-z]+-[a-z]+$`).MatchString(got) {
		t.Errorf("a generated name: %q", got)
	}
	dockerOK(t, bin, env, "rm", "-f", "later", anon)

	// Errors: an unknown container, a setting Wharf cannot carry.
	dockerFails(t, bin, env, "No such container: nosuch", "inspect", "--type", "container", "nosuch")
	dockerFails(t, bin, env, "No such container: nosuch", "stop", "nosuch")
	dockerFails(t, bin, env, "--privileged", "run", "-d", "--privileged", image)
}

// TestDockerContainersOldCLI: docker 20.10 (API 1.41) runs, lists,
// inspects and removes a container.
func TestDockerContainersOldCLI(t *testing.T) {
	bin := dockerCLIs[1]
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s: not installed", bin)
	}
	c, env, image := dockerClusterOf(t)
	// A read-only certificate lists but may not run.
	roEnv, _ := c.DockerEnv(t, "docker-containers-ro", "read-only")
	dockerFails(t, bin, roEnv, "read-only", "run", "-d", "--name", "nope", image)
	dockerOK(t, bin, roEnv, "ps")
	id := dockerOK(t, bin, env, "run", "-d", "--name", "old", "-e", "constraint:node==n1", "-p", "8080", image)
	if !dockerIDRE.MatchString(id) {
		t.Fatalf("docker run -d printed %q", id)
	}
	if got := dockerOK(t, bin, env, "ps", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(got, "n1/old Up ") {
		t.Errorf("docker ps: %q", got)
	}
	if got := dockerOK(t, bin, env, "inspect", "-f", "{{.Node.Name}} {{.State.Running}}", "n1/old"); got != "n1 true" {
		t.Errorf("docker inspect: %q", got)
	}
	if got := dockerOK(t, bin, env, "port", "old"); !regexp.MustCompile(`8080/tcp -> 0\.0\.0\.0:[0-9]+`).MatchString(got) {
		t.Errorf("docker port: %q", got)
	}
	dockerOK(t, bin, env, "stop", "old")
	dockerOK(t, bin, env, "rm", "old")

	// A stack's service's containers are listed with compose's labels;
	// docker stop of one is refused, naming the wharf command.
	spec := api.StackSpec{Services: []api.StackService{{Name: "api", Spec: api.ServiceSpec{Image: image, PullPolicy: api.PullNever, Replicas: 2}}}}
	if _, err := c.Client.DeployStack(context.Background(), "shop", spec, false); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 60*time.Second, func() error {
		got, err := runDocker(t, bin, env, "ps", "--filter", "label=com.docker.compose.project=shop", "--format", `{{.Names}} {{.Label "com.docker.compose.service"}}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, got)
		}
		if !regexp.MustCompile(`(?m)^n[12]/shop-api-1 api$`).MatchString(got) || !regexp.MustCompile(`(?m)^n[12]/shop-api-2 api$`).MatchString(got) {
			return fmt.Errorf("docker ps of the stack: %q", got)
		}
		return nil
	})
	dockerFails(t, bin, env, "wharf service stop shop-api", "stop", "shop-api-1")
	dockerFails(t, bin, env, "No such container: old", "inspect", "--type", "container", "old")
}
