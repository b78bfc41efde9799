package cli

// docker_env_test.go tests `wharf docker-env` against a real server.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/testcluster"
)

// parseExports reads `export K=V` lines (values as shellQuote writes them).
func parseExports(t *testing.T, out string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
		}
		env[k] = v
	}
	return env
}

// TestDockerEnv: `wharf docker-env` writes a private certificate
// directory, prints the environment the docker CLI reads and the eval
// hint; a second run reuses the certificate, --new makes another, and a
// revoked one is replaced. The token is listed as a docker-cert.
func TestDockerEnv(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Docker: true})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, c.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--addr", c.URL, "--token", c.Token, "--cacert", caFile}

	out, errOut, err := runCLI(t, append([]string{"docker-env", "--name", "laptop"}, conn...)...)
	if err != nil {
		t.Fatalf("docker-env: %v\n%s", err, errOut)
	}
	env := parseExports(t, out)
	dir := env["DOCKER_CERT_PATH"]
	if env["DOCKER_HOST"] != "tcp://"+c.DockerAddr || env["DOCKER_TLS_VERIFY"] != "1" || dir == "" {
		t.Fatalf("docker-env printed:\n%s", out)
	}
	if !strings.Contains(out, `eval "$(wharf docker-env)"`) {
		t.Errorf("no eval hint in:\n%s", out)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("certificate directory: %v %v", fi, err)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); string(b) != string(c.CAPEM) {
		t.Error("ca.pem is not the cluster CA (the server made its own certificate)")
	}
	toks, _ := c.Client.Tokens(t.Context())
	var tok api.Token
	for _, tk := range toks {
		if tk.Name == "laptop" {
			tok = tk
		}
	}
	if tok.Kind != api.TokenDockerCert || tok.EffectiveRole() != api.RoleAdmin {
		t.Errorf("the certificate's token: %+v (want a docker-cert with the admin token's own role)", tok)
	}
	if out, _, _ := runCLI(t, append([]string{"token", "ls"}, conn...)...); !strings.Contains(out, "docker-cert") || !strings.Contains(out, "KIND") {
		t.Errorf("token ls does not show the kind:\n%s", out)
	}
	if bin := "/usr/local/bin/docker"; fileExists(bin) {
		cmd := exec.Command(bin, "version", "--format", "{{.Server.Version}}")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "DOCKER_HOST="+env["DOCKER_HOST"], "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+dir)
		if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "test" {
			t.Errorf("docker version through docker-env's output: %v %q", err, b)
		}
	}

	// Again: the same certificate.
	cert, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	out2, errOut, err := runCLI(t, append([]string{"docker-env"}, conn...)...)
	if err != nil || out2 != out || strings.Contains(errOut, "wrote") {
		t.Errorf("a second docker-env: %v, stderr %q, output changed: %v", err, errOut, out2 != out)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "cert.pem")); string(again) != string(cert) {
		t.Error("a second docker-env replaced a good certificate")
	}
	// --new: another, and the one it replaces is revoked.
	if _, errOut, err := runCLI(t, append([]string{"docker-env", "--new"}, conn...)...); err != nil || !strings.Contains(errOut, "revoked the certificate it replaces") {
		t.Errorf("docker-env --new: %v, stderr %q", err, errOut)
	}
	toks, _ = c.Client.Tokens(t.Context())
	for _, tk := range toks {
		if tk.ID == tok.ID {
			t.Error("docker-env --new left the replaced certificate's token")
		}
	}
	cert, _ = os.ReadFile(filepath.Join(dir, "cert.pem"))
	tok = api.Token{}
	for _, tk := range toks {
		if tk.Kind == api.TokenDockerCert {
			tok = tk
		}
	}

	// Revoked: a new one.
	if err := c.Client.RemoveToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(t, append([]string{"docker-env"}, conn...)...); err != nil || !strings.Contains(errOut, "wrote") {
		t.Errorf("docker-env after revocation: %v, stderr %q", err, errOut)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "cert.pem")); string(again) == string(cert) {
		t.Error("docker-env kept a revoked certificate")
	}

	// Other shells, --docker-host, --cert-path, a read-only role.
	other := t.TempDir()
	out, _, err = runCLI(t, append([]string{"docker-env", "--shell", "fish", "--docker-host", "docker.example:2376", "--cert-path", other, "--role", "read-only"}, conn...)...)
	if err != nil || !strings.Contains(out, "set -gx DOCKER_HOST 'tcp://docker.example:2376';") || !strings.Contains(out, "set -gx DOCKER_CERT_PATH '"+other+"';") {
		t.Errorf("--shell fish --docker-host --cert-path: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{"--shell", "tcsh"}, {"--role", "root"}, {"--docker-host", "nohost"}} {
		if _, _, err := runCLI(t, append(append([]string{"docker-env"}, bad...), conn...)...); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("docker-env %v: %v; want an error naming %s", bad, err, bad[0])
		}
	}
}

// TestDockerEnvWithoutEndpoint: a server without --docker-addr says how to
// get one.
func TestDockerEnvWithoutEndpoint(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, c.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "docker-env", "--addr", c.URL, "--token", c.Token, "--cacert", caFile)
	if err == nil || !strings.Contains(err.Error(), "wharf server --docker-addr") {
		t.Errorf("docker-env without a Docker endpoint: %v", err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
