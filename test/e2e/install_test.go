package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/testserver"
)

// byoh is a fresh host under a temporary root (the script's WHARF_PREFIX),
// with a fake systemctl that records its calls and a sudo that just runs
// its command.
type byoh struct {
	t     *testing.T
	root  string
	calls string
	path  string // PATH with the fake systemctl and sudo first
}

func newBYOH(t *testing.T) *byoh {
	t.Helper()
	dir := t.TempDir()
	h := &byoh{t: t, root: filepath.Join(dir, "root"), calls: filepath.Join(dir, "systemctl.calls")}
	fakeBin := filepath.Join(dir, "bin")
	for _, d := range []string{fakeBin, filepath.Join(h.root, "run/systemd/system")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\necho \"$*\" >>" + h.calls + "\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fakeBin, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.path = fakeBin + ":" + os.Getenv("PATH")
	return h
}

// run fetches install.sh from server trusting the cluster CA alone, as the
// printed one-liner does, and runs it with args.
func (h *byoh) run(server, caFile string, args ...string) (string, error) {
	h.t.Helper()
	script := filepath.Join(h.t.TempDir(), "install.sh")
	if out, err := exec.Command("curl", "-q", "-fsS", "--cacert", caFile, "--capath", "/dev/null", "-o", script, server+"/install.sh").CombinedOutput(); err != nil {
		h.t.Fatalf("curl install.sh: %v %s", err, out)
	}
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "WHARF_PREFIX="+h.root, "PATH="+h.path)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runLine runs a command line the way a user pastes it, with sh (dash on
// Debian).
func (h *byoh) runLine(line string) (string, error) {
	h.t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = append(os.Environ(), "WHARF_PREFIX="+h.root, "PATH="+h.path)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// printedOneLiner is the install line `wharf node join-token` prints, and
// its token.
func printedOneLiner(t *testing.T, e *env) (line, token string) {
	t.Helper()
	out := e.wharf("node", "join-token")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    ") {
			if line != "" {
				t.Fatalf("join-token printed more than one command:\n%s", out)
			}
			line = strings.TrimSpace(l)
		}
	}
	i := strings.LastIndex(line, " --token ")
	if i < 0 || !strings.Contains(line, "/install.sh") {
		t.Fatalf("join-token printed no install one-liner:\n%s", out)
	}
	return line, line[i+len(" --token "):]
}

// agentBin is the agent-only build the server serves to /install.sh.
func agentBin(t *testing.T) string {
	t.Helper()
	p, err := testserver.AgentBinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// agentConfig is the config the installed agent gets: agent.yaml, which
// names the token file and no token.
func agentConfig(t *testing.T, conf string) []string {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("token_file: ")) || bytes.Contains(b, []byte("\ntoken: ")) {
		t.Fatalf("agent.yaml should name a token_file and hold no token:\n%s", b)
	}
	return []string{"--config", conf}
}

func (h *byoh) file(p string) string { return filepath.Join(h.root, p) }

func TestInstallScriptJoinsHost(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.start("server", "server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--advertise", "127.0.0.1")
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}
	waitReady(t, e, data)
	line, _ := printedOneLiner(t, e)
	server := "https://" + apiAddr
	caFile := filepath.Join(data, "ca.crt")

	// The line join-token printed, pasted as is.
	h := newBYOH(t)
	if out, err := h.runLine(line + " --label zone=e2e"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(agentBin(t))
	got, err := os.ReadFile(h.file("usr/local/bin/wharf-agent"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("installed binary differs from the agent-only build the server serves (%d vs %d bytes): %v", len(got), len(want), err)
	}
	conf := h.file("etc/wharf/agent.yaml")
	for _, p := range []string{conf, h.file("etc/wharf/join-token")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	if unit, _ := os.ReadFile(h.file("etc/systemd/system/wharf-agent.service")); !bytes.Contains(unit, []byte("KillMode=process")) {
		t.Errorf("unit:\n%s", unit)
	}

	// What systemd would run, with a hollow driver: the node joins.
	agentArgs := append([]string{"agent"}, agentConfig(t, conf)...)
	agent := exec.Command(h.file("usr/local/bin/wharf-agent"), append(agentArgs, "--driver", "fake", "--name", "byoh", "--heartbeat", "1s")...)
	var agentLog bytes.Buffer
	agent.Stdout, agent.Stderr = &agentLog, &agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		_, _ = agent.Process.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", tail(agentLog.String(), 30))
		}
	})
	eventually(t, 30*time.Second, "installed agent Deployed", func() error {
		for _, n := range e.list("node", "ls") {
			if n.Name == "byoh" && n.State == "Deployed" {
				return nil
			}
		}
		return fmt.Errorf("node byoh not Deployed")
	})
	if _, err := os.Stat(h.file("var/lib/wharf/node.crt")); err != nil {
		t.Errorf("the agent did not keep its identity in the data dir the script chose: %v", err)
	}
	if _, err := os.Stat(h.file("etc/wharf/join-token")); !os.IsNotExist(err) {
		t.Errorf("the joined agent left its join token file: %v", err)
	}

	// A re-run upgrades in place and restarts the unit; the node has
	// joined, so the token is no longer kept.
	if out, err := h.run(server, caFile); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(h.calls)
	if !strings.HasSuffix(string(calls), "restart wharf-agent\n") || !strings.HasPrefix(string(calls), "daemon-reload\nenable --now wharf-agent\n") {
		t.Errorf("systemctl calls:\n%s", calls)
	}
	if _, err := os.Stat(h.file("etc/wharf/join-token")); !os.IsNotExist(err) {
		t.Errorf("the join token is still on a joined host: %v", err)
	}

	// A man in the middle of the downloads, with a certificate of its own,
	// or without TLS, gets nothing installed.
	_, join := printedOneLiner(t, e)
	for _, proxy := range tamperingProxies(t, server, caFile) {
		h2 := newBYOH(t)
		out, err := h2.run(server, caFile, "--token", join, "--server", proxy)
		if err == nil || !(strings.Contains(out, "download of "+proxy) || strings.Contains(out, "want https://")) {
			t.Errorf("through %s: err %v, output:\n%s", proxy, err, out)
		}
		if _, err := os.Stat(h2.file("usr/local/bin/wharf-agent")); !os.IsNotExist(err) {
			t.Errorf("a binary came through %s", proxy)
		}
	}

	if out, err := h.run(server, caFile, "--uninstall"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	for _, p := range []string{"usr/local/bin/wharf-agent", "etc/wharf", "etc/systemd/system/wharf-agent.service"} {
		if _, err := os.Stat(h.file(p)); !os.IsNotExist(err) {
			t.Errorf("%s left after --uninstall", p)
		}
	}
	if _, err := os.Stat(h.file("var/lib/wharf/node.crt")); err != nil {
		t.Errorf("--uninstall without --purge removed the data dir: %v", err)
	}
}

// tamperingProxies serve server, appending a byte to the binary it
// downloads and serving that binary's checksum: one over HTTPS with a
// certificate of its own, one over plain HTTP.
func tamperingProxies(t *testing.T, server, caFile string) []string {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	bin, err := os.ReadFile(agentBin(t)) // what the server serves
	if err != nil {
		t.Fatal(err)
	}
	tampered := append(bin, 0)
	target, _ := url.Parse(server)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/download/") {
			return nil
		}
		_ = resp.Body.Close()
		body := tampered
		if strings.HasSuffix(resp.Request.URL.Path, ".sha256") {
			sum := sha256.Sum256(tampered)
			body = []byte(hex.EncodeToString(sum[:]) + "  " + path.Base(strings.TrimSuffix(resp.Request.URL.Path, ".sha256")) + "\n")
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	var out []string
	for i, srv := range []*httptest.Server{httptest.NewUnstartedServer(rp), httptest.NewUnstartedServer(rp)} {
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the script refusing its certificate is the point
		if i == 0 {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		out = append(out, srv.URL)
	}
	return out
}

// The attack on the documented install: whoever answers on the server's
// address runs code as root and collects the join token. The line `wharf
// node join-token` prints is run against a fake server on that very address
// (the real one stopped): curl refuses the fake's certificate, so its
// script never runs and it never sees the token. The same line against the
// real server, back on its address, installs.
func TestPrintedOneLinerRefusesAnImpostor(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--advertise", "127.0.0.1"}
	server := e.start("server", args...)
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}
	waitReady(t, e, data)
	line, token := printedOneLiner(t, e)

	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = server.Process.Wait()
	marker := filepath.Join(t.TempDir(), "ran-as-root")
	fake, err := hostile.StartInstallServer(apiAddr, marker)
	if err != nil {
		t.Fatalf("impostor on %s: %v", apiAddr, err)
	}
	t.Cleanup(func() { _ = fake.Close() })

	h := newBYOH(t)
	out, _ := h.runLine(line)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the impostor's script ran as root: %v\n%s", err, out)
	}
	if fake.Hellos() == 0 {
		t.Fatalf("the one-liner never reached the impostor: the test proves nothing\n%s", out)
	}
	if reqs := fake.Requests(); len(reqs) != 0 {
		t.Errorf("the one-liner sent the impostor requests: %q", reqs)
	}
	if !strings.Contains(out, "curl: (60)") {
		t.Errorf("curl did not refuse the impostor's certificate:\n%s", out)
	}
	if _, err := os.Stat(h.file("etc/wharf")); !os.IsNotExist(err) {
		t.Errorf("something was installed from the impostor: %v", err)
	}

	// The line the docs used to give, against the same impostor: its script
	// runs, and the token is its.
	old := "curl -sfLk https://" + apiAddr + "/install.sh | sudo sh -s -- --token " + token
	if out, err := newBYOH(t).runLine(old); err != nil {
		t.Fatalf("old one-liner: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(marker); err != nil || !strings.Contains(string(b), token) {
		t.Fatalf("the impostor did not get the old one-liner's token (%q, %v): the test proves nothing", b, err)
	}
	if err := fake.Close(); err != nil {
		t.Fatal(err)
	}

	e.start("server-again", args...)
	waitReady(t, e, data)
	if out, err := h.runLine(line); err != nil {
		t.Fatalf("the same line against the real server: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(agentBin(t))
	if got, err := os.ReadFile(h.file("usr/local/bin/wharf-agent")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the real server's binary was not installed: %v", err)
	}
}

// TestInstallScriptInContainer plays a fresh host for real: a container
// made with `docker import` from busybox-static, plus curl and the shared
// libraries curl and wharf link against (busybox 1.35's wget cannot
// negotiate a cipher suite with Go's TLS), on a private docker network
// runs the line `wharf node join-token` prints, and its agent joins. It needs a
// Docker Engine and /bin/busybox from busybox-static; without them it
// skips, unless WHARF_REQUIRE_DOCKER=1.
func TestInstallScriptInContainer(t *testing.T) {
	const busybox = "/bin/busybox"
	if err := exec.Command("docker", "version").Run(); err != nil {
		requireOrSkip(t, "no Docker Engine: %v", err)
	}
	if out, err := exec.Command("file", "-L", busybox).Output(); err == nil && !bytes.Contains(out, []byte("statically linked")) {
		requireOrSkip(t, "%s is not statically linked (apt-get install busybox-static)", busybox)
	} else if _, err := os.Stat(busybox); err != nil {
		requireOrSkip(t, "no %s (apt-get install busybox-static)", busybox)
	}
	id := fmt.Sprintf("wharf-e2e-%d", time.Now().UnixNano())
	docker(t, "network", "create", id)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", id).Run() })
	gw := strings.TrimSpace(docker(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", id))
	image := id + ":fresh-host"
	importRootfs(t, image, busybox)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("%s:%d", gw, freePort(t))
	e.start("server", "server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("%s:%d", gw, freePort(t)), "--advertise", gw)
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}
	waitReady(t, e, data)
	line, _ := printedOneLiner(t, e)

	// The printed line as is, more labels after it; then what systemd
	// would run, with a hollow driver.
	boot := line + " --label where=container" +
		` && exec /usr/local/bin/wharf-agent agent --driver fake --name in-a-box`
	docker(t, "run", "-d", "--name", id, "--network", id, image, "/bin/sh", "-c", boot)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Logf("container log:\n%s", tail(string(out), 30))
		}
		_ = exec.Command("docker", "rm", "-f", id).Run()
	})
	eventually(t, 45*time.Second, "the container's agent Deployed", func() error {
		for _, n := range e.list("node", "ls") {
			if n.Name == "in-a-box" && n.State == "Deployed" {
				return nil
			}
		}
		return fmt.Errorf("node in-a-box not Deployed")
	})
	if out, err := exec.Command("docker", "exec", id, "test", "-e", "/etc/wharf/join-token").CombinedOutput(); err == nil {
		t.Errorf("the joined agent left /etc/wharf/join-token in the container %s", out)
	}
	conf := docker(t, "exec", id, "cat", "/etc/wharf/agent.yaml")
	if !strings.Contains(conf, `"where": "container"`) || !strings.Contains(conf, `data_dir: "/var/lib/wharf"`) {
		t.Errorf("agent.yaml in the container:\n%s", conf)
	}
}

func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// importRootfs makes image from a root file system holding busybox (with
// its applets as links), curl, and the shared libraries both curl and
// the agent binary need.
func importRootfs(t *testing.T, image, busybox string) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"bin", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	copyFile(t, busybox, filepath.Join(root, "bin/busybox"))
	// root needs no sudo; the printed line pipes into it.
	if err := os.WriteFile(filepath.Join(root, "bin/sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Fields(string(applets)) {
		if a == "curl" || a == "sudo" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		requireOrSkip(t, "no curl to put in the container: %v", err)
	}
	copyFile(t, curl, filepath.Join(root, "bin/curl"))
	for _, bin := range []string{curl, agentBin(t)} {
		out, _ := exec.Command("ldd", bin).Output()
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				copyFile(t, f, filepath.Join(root, f))
			}
		}
	}
	tar := exec.Command("tar", "-C", root, "-c", ".")
	imp := exec.Command("docker", "import", "-", image)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	if err := tar.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v %s", err, out)
	}
	if err := tar.Wait(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
