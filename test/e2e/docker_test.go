package e2e

// docker_test.go: the Docker endpoint of a real `wharf server
// --docker-addr` process with agents on the docker driver, driven by the
// machine's docker CLIs through `eval "$(wharf docker-env)"`.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// dockerCLIs are the machine's docker CLIs: the current one (API 1.50)
// and Debian's docker.io 20.10 (API 1.41); those missing are skipped.
var dockerCLIs = []string{"/usr/local/bin/docker", "/usr/bin/docker"}

// dockerCluster is a wharf server process with its Docker endpoint and
// agents on the docker driver, and the environment `wharf docker-env`
// gave for it.
type dockerCluster struct {
	*env
	// DockerAddr is the endpoint's host:port.
	DockerAddr string
	// Docker is the environment `eval "$(wharf docker-env)"` set: append
	// it to a docker CLI's.
	Docker []string
}

// startDockerCluster runs `wharf server --docker-addr` and n agents on the
// machine's Docker Engine, waits until they are Deployed, and evals
// `wharf docker-env` in a shell.
func startDockerCluster(t *testing.T, n int) *dockerCluster {
	t.Helper()
	dockertest.Require(t)
	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	dockerAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.start("server", "server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--advertise", "127.0.0.1",
		"--docker-addr", dockerAddr)
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}
	waitReady(t, e, data)
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("docker-core-n%d", i)
		e.start(name, "agent", "--server", "https://"+apiAddr, "--token", join, "--name", name,
			"--data-dir", filepath.Join(e.dir, name), "--docker-certs-dir", "", "--heartbeat", "1s")
	}
	eventually(t, 60*time.Second, "all agents Deployed", func() error {
		deployed := 0
		for _, nd := range e.list("node", "ls") {
			if nd.State == "Deployed" {
				deployed++
			}
		}
		if deployed != n {
			return fmt.Errorf("%d of %d nodes Deployed", deployed, n)
		}
		return nil
	})
	return &dockerCluster{env: e, DockerAddr: dockerAddr, Docker: evalDockerEnv(t, e)}
}

// evalDockerEnv runs `eval "$(wharf docker-env)"` in a shell, as a user
// would, and returns the DOCKER_* variables it set.
func evalDockerEnv(t *testing.T, e *env, args ...string) []string {
	t.Helper()
	script := `eval "$("$WHARF_BIN" docker-env ` + strings.Join(args, " ") + `)" && env | grep '^DOCKER_'`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(e.environ(), "WHARF_BIN="+wharfBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("eval \"$(wharf docker-env)\": %v\n%s", err, out)
	}
	var vars []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "DOCKER_HOST=") || strings.HasPrefix(line, "DOCKER_TLS_VERIFY=") || strings.HasPrefix(line, "DOCKER_CERT_PATH=") {
			vars = append(vars, line)
		}
	}
	if len(vars) != 3 {
		t.Fatalf("eval \"$(wharf docker-env)\" set %v", vars)
	}
	return vars
}

// docker runs the docker CLI bin against the cluster and returns its
// combined output; it fails the test on a non-zero exit.
func (c *dockerCluster) docker(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := runDockerCLI(t, bin, c.Docker, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return out
}

// runDockerCLI runs bin with env (and a config dir of its own).
func runDockerCLI(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// installedDockerCLIs are those of dockerCLIs on this machine.
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

// TestDockerCLIAgainstAServerProcess: both docker CLIs, pointed at a
// wharf server process by `eval "$(wharf docker-env)"`, see Wharf as the
// engine and the cluster's nodes in `docker info`.
func TestDockerCLIAgainstAServerProcess(t *testing.T) {
	bins := installedDockerCLIs(t)
	c := startDockerCluster(t, 2)
	for _, bin := range bins {
		if out := c.docker(t, bin, "version", "--format", "{{.Server.Os}} {{.Server.APIVersion}}"); !strings.HasPrefix(out, "linux 1.50") {
			t.Errorf("%s version: %q", bin, out)
		}
		out := c.docker(t, bin, "info")
		for _, want := range []string{"Operating System: Wharf", "Nodes: 2", "docker-core-n1", "docker-core-n2", "drivers=docker", "Status: Healthy"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s info lacks %q:\n%s", bin, want, out)
			}
		}
	}
	// The certificate is a token of kind docker-cert.
	if out := c.wharf("token", "ls"); !strings.Contains(out, "docker-cert") {
		t.Errorf("token ls:\n%s", out)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
