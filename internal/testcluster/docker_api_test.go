package testcluster

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// dockerCLIs are the docker CLIs of the machine: the current one (API
// 1.50) and Debian's docker.io 20.10 (API 1.41).
var dockerCLIs = []string{"/usr/local/bin/docker", "/usr/bin/docker"}

// runDocker runs a docker CLI with env and returns its combined output.
func runDocker(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDockerEndpointVersion: both docker CLIs negotiate a version with the
// Docker endpoint over TLS with a certificate from the API, and see Wharf.
func TestDockerEndpointVersion(t *testing.T) {
	c := Start(t, Options{Docker: true})
	env, _ := c.DockerEnv(t, "docker-test", "")
	for _, bin := range dockerCLIs {
		if _, err := os.Stat(bin); err != nil {
			t.Logf("%s: not installed", bin)
			continue
		}
		out, err := runDocker(t, bin, env, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}} {{.Client.APIVersion}}")
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		if !strings.HasPrefix(out, "test ") {
			t.Errorf("%s version: want Wharf's version \"test\", got %q", bin, out)
		}
	}
}
