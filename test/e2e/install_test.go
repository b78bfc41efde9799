package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// byoh is a fresh host under a temporary root (the script's WHARF_PREFIX),
// with a fake systemctl that records its calls.
type byoh struct {
	t     *testing.T
	root  string
	calls string
	path  string // PATH with the fake systemctl first
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
	h.path = fakeBin + ":" + os.Getenv("PATH")
	return h
}

// run fetches install.sh from server as a fresh host would (curl -k: the
// script pins the CA by the token's digest) and runs it with args.
func (h *byoh) run(server string, args ...string) (string, error) {
	h.t.Helper()
	script := filepath.Join(h.t.TempDir(), "install.sh")
	if out, err := exec.Command("curl", "-sfLk", "-o", script, server+"/install.sh").CombinedOutput(); err != nil {
		h.t.Fatalf("curl install.sh: %v %s", err, out)
	}
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "WHARF_PREFIX="+h.root, "PATH="+h.path)
	out, err := cmd.CombinedOutput()
	return string(out), err
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
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	server := "https://" + apiAddr

	h := newBYOH(t)
	if out, err := h.run(server, "--token", join, "--label", "zone=e2e"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(wharfBin)
	got, err := os.ReadFile(h.file("usr/local/bin/wharf"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("installed binary differs from the server's (%d vs %d bytes): %v", len(got), len(want), err)
	}
	conf := h.file("etc/wharf/agent.yaml")
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent.yaml: %v %v", fi, err)
	}
	if unit, _ := os.ReadFile(h.file("etc/systemd/system/wharf-agent.service")); !bytes.Contains(unit, []byte("KillMode=process")) {
		t.Errorf("unit:\n%s", unit)
	}

	// What systemd would run, with a hollow driver: the node joins.
	agent := exec.Command(h.file("usr/local/bin/wharf"), "agent", "--config", conf, "--driver", "fake", "--name", "byoh", "--heartbeat", "1s")
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

	// A re-run upgrades in place and restarts the unit.
	if out, err := h.run(server); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(h.calls)
	if !strings.HasSuffix(string(calls), "restart wharf-agent\n") || !strings.HasPrefix(string(calls), "daemon-reload\nenable --now wharf-agent\n") {
		t.Errorf("systemctl calls:\n%s", calls)
	}

	// A binary tampered with on the way is refused.
	proxy := tamperingProxy(t, server, filepath.Join(data, "ca.crt"))
	h2 := newBYOH(t)
	out, err := h2.run(server, "--token", join, "--server", proxy)
	if err == nil || !strings.Contains(out, "checksum mismatch") {
		t.Errorf("tampered binary: err %v, output:\n%s", err, out)
	}
	if _, err := os.Stat(h2.file("usr/local/bin/wharf")); !os.IsNotExist(err) {
		t.Error("a tampered binary was installed")
	}

	if out, err := h.run(server, "--uninstall"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	for _, p := range []string{"usr/local/bin/wharf", "etc/wharf", "etc/systemd/system/wharf-agent.service"} {
		if _, err := os.Stat(h.file(p)); !os.IsNotExist(err) {
			t.Errorf("%s left after --uninstall", p)
		}
	}
	if _, err := os.Stat(h.file("var/lib/wharf/node.crt")); err != nil {
		t.Errorf("--uninstall without --purge removed the data dir: %v", err)
	}
}

// tamperingProxy serves server over plain HTTP, appending a byte to the
// binary it downloads.
func tamperingProxy(t *testing.T, server, caFile string) string {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	target, _ := url.Parse(server)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasPrefix(resp.Request.URL.Path, "/download/") && !strings.HasSuffix(resp.Request.URL.Path, ".sha256") {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			body = append(body, 0)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestInstallScriptInContainer plays a fresh host for real: a container
// made with `docker import` from busybox-static, plus curl and the shared
// libraries curl and wharf link against (busybox 1.35's wget cannot
// negotiate a cipher suite with Go's TLS), on a private docker network
// fetches the script with curl -k, installs, and its agent joins. It needs a
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
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))

	// curl -k: the script pins the CA itself, by the token's digest.
	boot := fmt.Sprintf("curl -sfLk -o /tmp/install.sh https://%s/install.sh && sh /tmp/install.sh --token %s --label where=container"+
		" && exec /usr/local/bin/wharf agent --driver fake --name in-a-box", apiAddr, join)
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
// wharfBin need.
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
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Fields(string(applets)) {
		if a == "curl" {
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
	for _, bin := range []string{curl, wharfBin} {
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
