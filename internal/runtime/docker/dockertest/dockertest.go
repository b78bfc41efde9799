// Package dockertest gives tests a Docker Engine and an image to run
// without any registry: HelloImage builds wharf/hello:test, FROM scratch,
// holding a static wharf binary. It is imported by tests only (it imports
// package testing).
package dockertest

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// HelloTag is the tag of the image HelloImage builds.
const HelloTag = "wharf/hello:test"

// RequireEnv is the variable that, set to 1, makes Require fail instead of
// skip when no engine answers.
const RequireEnv = "WHARF_REQUIRE_DOCKER"

// dockerfile runs `wharf hello` by default.
const dockerfile = `FROM scratch
COPY wharf /wharf
ENTRYPOINT ["/wharf"]
CMD ["hello"]
`

// Require returns a client of the engine at DOCKER_HOST (or the default
// socket), with its API version negotiated. When no engine answers it
// skips the test, or fails it if WHARF_REQUIRE_DOCKER=1.
func Require(t testing.TB) *client.Client {
	t.Helper()
	cli, err := connect()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1)", err, RequireEnv)
		}
		t.Skipf("%v; set %s=1 to fail instead", err, RequireEnv)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func connect() (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("no Docker Engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("no Docker Engine answers at %s: %w", cli.DaemonHost(), err)
	}
	return cli, nil
}

var (
	buildOnce sync.Once
	buildErr  error
)

// HelloImage builds wharf/hello:test once per process (a static wharf
// binary, FROM scratch, ENTRYPOINT ["/wharf"], CMD ["hello"]) and returns
// its tag. It skips or fails like Require when no engine answers. The tag
// stays behind for the next run: the engine's build cache makes that fast.
func HelloImage(t testing.TB) string {
	t.Helper()
	cli := Require(t)
	buildOnce.Do(func() { buildErr = buildHello(cli) })
	if buildErr != nil {
		t.Fatalf("build %s: %v", HelloTag, buildErr)
	}
	return HelloTag
}

func buildHello(cli *client.Client) error {
	dir, err := os.MkdirTemp("", "wharf-hello-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "wharf")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/wharfhq/wharf/cmd/wharf")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build the wharf binary: %w\n%s", err, out)
	}
	ctxTar, err := buildContext(bin)
	if err != nil {
		return fmt.Errorf("make the build context: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var oldID string
	if old, err := cli.ImageInspect(ctx, HelloTag); err == nil {
		oldID = old.ID
	}
	res, err := cli.ImageBuild(ctx, ctxTar, client.ImageBuildOptions{
		Tags: []string{HelloTag}, Remove: true, ForceRemove: true,
		Version: build.BuilderV1, // the classic builder: no BuildKit session needed
	})
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	defer res.Body.Close()
	if err := buildOutput(res.Body); err != nil {
		return err
	}
	// A new binary makes a new image: drop the one the tag left, unless a
	// container still uses it.
	if now, err := cli.ImageInspect(ctx, HelloTag); err == nil && oldID != "" && now.ID != oldID {
		_, _ = cli.ImageRemove(ctx, oldID, client.ImageRemoveOptions{PruneChildren: true})
	}
	return nil
}

// buildContext is a tar of the Dockerfile and the binary at bin.
func buildContext(bin string) (io.Reader, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(dockerfile)},
		{"wharf", 0o755, exe},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// buildOutput reads the engine's JSON progress stream to its end and
// returns the build's error, if any: a failed build still answers 200.
func buildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	var log bytes.Buffer
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the build's output: %w", err)
		}
		log.WriteString(m.Stream)
		if m.Error != "" || m.ErrorDetail.Message != "" {
			return fmt.Errorf("%s\n%s", cmp.Or(m.ErrorDetail.Message, m.Error), log.String())
		}
	}
}
