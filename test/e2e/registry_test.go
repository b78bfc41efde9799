package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestBuiltinRegistryDockerCLI pushes an image with the stock docker CLI
// to the server's built-in registry and pulls it back, and checks who is
// refused: no credential, a wrong token, a read-only token's push, a push
// into another organization. Then `wharf image ls/rm/gc`.
func TestBuiltinRegistryDockerCLI(t *testing.T) {
	hello := dockertest.HelloImage(t)
	s := testserver.Start(t, testserver.Options{Args: []string{"--registry-gc-quiet=1s"}})
	host := s.Addr // 127.0.0.1:port: the engine takes it as insecure (no certs.d needed)
	e := newEnv(t)
	e.extra = []string{"WHARF_ADDR=https://" + host, "WHARF_CACERT=" + filepath.Join(s.DataDir, "ca.crt"), "WHARF_TOKEN=" + s.Token()}
	dcfg := t.TempDir() // the docker CLI's config: the logins stay in the test
	docker := func(stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", append([]string{"--config", dcfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := docker(stdin, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	refused := func(want, stdin string, args ...string) {
		t.Helper()
		out, err := docker(stdin, args...)
		if err == nil || !strings.Contains(strings.ToLower(out), want) {
			t.Fatalf("docker %s: want a refusal saying %q, got err=%v:\n%s", strings.Join(args, " "), want, err, out)
		}
	}

	// GET /v1/registry names the host.
	var info api.RegistryInfo
	if err := s.Client().Do(context.Background(), "GET", "/v1/registry", nil, &info); err != nil || info.Host != host {
		t.Fatalf("GET /v1/registry: %+v %v, want host %s", info, err, host)
	}
	// No credential: 401 with the Basic challenge.
	resp, err := s.HTTP().Get("https://" + host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="wharf"` {
		t.Fatalf("GET /v2/ without credential: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	refused("unauthorized", "wharf_notatoken\n", "login", host, "-u", "x", "--password-stdin")

	img := host + "/default/hello:v1"
	must(s.Token()+"\n", "login", host, "-u", "anything", "--password-stdin")
	must("", "tag", hello, img)
	t.Cleanup(func() { _, _ = docker("", "rmi", "-f", img, host+"/other/hello:v1", host+"/default/ro:v1") })
	must("", "push", img)
	must("", "rmi", img)
	must("", "pull", img)
	if out := must("", "image", "inspect", "--format", "{{.Id}}", img); !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("inspect the pulled image: %s", out)
	}

	// Another organization's repository: refused.
	must("", "tag", hello, host+"/other/hello:v1")
	refused("denied", "", "push", host+"/other/hello:v1")
	// A read-only token pulls but does not push.
	ro, err := s.Client().CreateToken(context.Background(), "ro", api.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	must(ro.Secret+"\n", "login", host, "-u", "ci", "--password-stdin")
	must("", "pull", img)
	must("", "tag", hello, host+"/default/ro:v1")
	refused("denied", "", "push", host+"/default/ro:v1")

	// wharf image ls shows the tag with its digest and size.
	var imgs []api.Image
	if err := json.Unmarshal([]byte(e.wharf("image", "ls", "--format", "json")), &imgs); err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Repository != "default/hello" || imgs[0].Tag != "v1" || !strings.HasPrefix(imgs[0].Digest, "sha256:") || imgs[0].Size == 0 {
		t.Fatalf("image ls: %+v", imgs)
	}
	if _, err := e.try("image", "rm", "other/hello:v1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("image rm of another organization's image: %v", err)
	}
	e.wharf("image", "rm", "default/hello:v1")
	if out := e.wharf("image", "ls"); strings.Contains(out, "default/hello") {
		t.Fatalf("image ls after rm: %s", out)
	}
	time.Sleep(1100 * time.Millisecond) // --registry-gc-quiet
	out := e.wharf("image", "gc")
	if !strings.Contains(out, "removed") || strings.HasPrefix(out, "removed 0 ") {
		t.Fatalf("image gc removed nothing: %s", out)
	}
	refused("manifest unknown", "", "pull", img)

	// The tokens docker sent on every request are in no log line.
	logb, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logb), ro.Secret) {
		t.Error("server.log holds the read-only token")
	}
	if n := strings.Count(string(logb), s.Token()); n > 1 { // once: the first start prints it
		t.Errorf("server.log holds the admin token %d times", n)
	}
}
