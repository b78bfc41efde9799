package testcluster

// Tests of containers with a terminal and an open input through the
// Docker endpoint: docker run -it, docker run -i with piped stdin, and
// docker create -it + docker start -ai, with both docker CLIs.

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// TestDockerTTY: docker run -it --rm runs a shell on a node's engine
// through a pty (a typed command's output, the terminal's size, the exit
// code, and the container gone after); echo | docker run -i --rm cat
// echoes its input; docker create -it then docker start -ai.
func TestDockerTTY(t *testing.T) {
	image := busyboxImage(t)
	bins := installedCLIs(t)
	d := newDockerDriver(t, docker.Options{})
	c := Start(t, Options{Docker: true})
	joinedWith(t, c, "tty-n1", nil, d)
	waitDeployed(t, c, 1) // docker run checks placement at once
	env, _ := c.DockerEnv(t, "tty", api.RoleAdmin)
	for i, bin := range bins {
		t.Run(strings.ReplaceAll(bin, "/", "_"), func(t *testing.T) {
			name := "tty-run-" + string(rune('a'+i))
			ptyShell(t, bin, env, "run -it", "run", "-it", "--rm", "--name", name, image, "sh")
			if out, err := runDocker(t, bin, env, "inspect", name); err == nil {
				t.Errorf("docker run --rm: container %s still there after it exited:\n%s", name, out)
			}

			cmd := exec.Command(bin, "run", "-i", "--rm", image, "cat")
			cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
			cmd.Stdin = strings.NewReader("hi\nthere\n")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "hi\nthere\n" {
				t.Errorf("echo | docker run -i cat: %v\n%q", err, out)
			}

			name = "tty-create-" + string(rune('a'+i))
			if out, err := runDocker(t, bin, env, "create", "-it", "--name", name, image, "sh"); err != nil {
				t.Fatalf("docker create -it: %v\n%s", err, out)
			}
			if out, err := runDocker(t, bin, env, "inspect", "--format", "{{.Config.Tty}} {{.Config.OpenStdin}}", name); err != nil || strings.TrimSpace(out) != "true true" {
				t.Errorf("docker inspect of a container made with -it: want Tty and OpenStdin, got %v\n%s", err, out)
			}
			ptyShell(t, bin, env, "start -ai", "start", "-ai", name)
			if out, err := runDocker(t, bin, env, "rm", name); err != nil {
				t.Errorf("docker rm: %v\n%s", err, out)
			}
		})
	}
}

// ptyShell runs a docker command that attaches to a shell through a pty:
// waits for its prompt, types a command and reads its output and the
// terminal's size, then exits with code 3.
func ptyShell(t *testing.T, bin string, env []string, what string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "TERM=dumb"), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var seen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			seen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	saw := func() string { mu.Lock(); defer mu.Unlock(); return seen.String() }
	wait := func(s string) bool {
		for ctx.Err() == nil {
			if strings.Contains(saw(), s) {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if !wait("#") {
		t.Fatalf("%s: no prompt; saw %q", what, saw())
	}
	_, _ = io.WriteString(f, "echo $((6*7))-answer; stty size\r")
	if !wait("42-answer") || !wait("30 100") {
		t.Errorf("%s: no answer or wrong terminal size; saw %q", what, saw())
	}
	_, _ = io.WriteString(f, "exit 3\r")
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("%s: want exit code 3, got %v; saw %q", what, err, saw())
	}
}
