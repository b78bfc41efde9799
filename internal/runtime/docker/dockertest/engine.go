package dockertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// daemonConfig is a private engine's daemon.json: its own storage (vfs
// works on any filesystem, including one that is itself an overlay), its
// own bridge, and no iptables rules, so that it never collides with the
// host's engine. Published ports work through docker-proxy, the engine's
// userland proxy, on the host's addresses.
const daemonConfig = `{"storage-driver":"vfs","bridge":%q,"iptables":false,"ip-forward":false,"ip-masq":false}`

// StartEngine starts a Docker Engine of the test's own: a second dockerd
// on this machine with its own data root, exec root, containerd and
// socket, so that it has an image store of its own, as a separate host
// would. It returns the engine's address (unix://...) once it answers;
// the engine and everything it holds are removed when the test ends.
//
// It skips, or fails under WHARF_REQUIRE_DOCKER=1, when no dockerd binary
// is installed or the test does not run as root.
func StartEngine(t testing.TB) string {
	t.Helper()
	Require(t)
	bin, err := exec.LookPath("dockerd")
	if err == nil && os.Geteuid() != 0 {
		err = fmt.Errorf("a private Docker Engine needs root")
	}
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("no private engine: %v (%s=1)", err, RequireEnv)
		}
		t.Skipf("no private engine: %v", err)
	}
	// A short path: the socket's path must fit in sun_path.
	dir, err := os.MkdirTemp("", "wharf-engine-")
	if err != nil {
		t.Fatal(err)
	}
	bridge := makeBridge(t)
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, daemonConfig, bridge), 0o600); err != nil {
		t.Fatal(err)
	}
	host := "unix://" + filepath.Join(dir, "docker.sock")
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file", cfg, "--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "docker.pid"), "-H", host)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a test killed mid-way does not take
	// the terminal's signals to it, and Cleanup can end it and its
	// containerd together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopEngine(t, host, cmd, exited, dir, logf) })

	cli, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
		if err == nil {
			return host
		}
		select {
		case werr := <-exited:
			t.Fatalf("private dockerd exited: %v\n%s", werr, tailFile(logf.Name(), 20))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("private dockerd at %s does not answer: %v\n%s", host, err, tailFile(logf.Name(), 20))
		}
	}
}

// makeBridge makes a Linux bridge for one private engine, on a random
// /24 of 10.224.0.0/12, and removes it when the test ends.
func makeBridge(t testing.TB) string {
	t.Helper()
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("whe%x", b)
	addr := fmt.Sprintf("10.%d.%d.1/24", 224+b[0]%16, b[1])
	for _, args := range [][]string{{"link", "add", name, "type", "bridge"}, {"addr", "add", addr, "dev", name}, {"link", "set", name, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "link", "del", name).Run()
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
			t.Logf("cleanup: ip link del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// stopEngine removes the engine's containers, stops it and removes its
// directories.
func stopEngine(t testing.TB, host string, cmd *exec.Cmd, exited chan error, dir string, logf *os.File) {
	defer logf.Close()
	if cli, err := client.New(client.WithHost(host)); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true}); err == nil {
			for _, c := range list.Items {
				_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
		cancel()
		cli.Close()
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	if t.Failed() {
		t.Logf("private dockerd %s log:\n%s", host, tailFile(logf.Name(), 40))
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

// tailFile is the last n lines of the file at path.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
