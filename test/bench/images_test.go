package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// imageSizeMB is the size of the image BenchmarkImageDistribution moves.
const imageSizeMB = 50

// target is a registry an image is pushed to and pulled from.
type target struct {
	name string
	host string // host:port, as image references name it
	auth string // X-Registry-Auth, base64url JSON (the engine wants one even when empty)
}

// BenchmarkImageDistribution gets one 50 MB image (one layer of
// incompressible bytes, FROM scratch) onto three nodes through Wharf's
// built-in registry and, in the same run, through Debian's
// docker-registry (the reference, skipped when /usr/bin/docker-registry is
// missing): the host's engine pushes it, then three private engines (each
// with an image store of its own, as three hosts have) pull it at once.
// It reports the push, the three pulls and the sum per registry.
func BenchmarkImageDistribution(b *testing.B) {
	cli := dockertest.Require(b)
	img := bigImage(b, cli)
	engines := make([]*client.Client, 3)
	for i := range engines {
		c, err := client.New(client.WithHost(dockertest.StartEngine(b)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		engines[i] = c
	}

	s := testserver.Start(b, testserver.Options{})
	var targets []target
	if ref, ok := referenceRegistry(b); ok {
		targets = append(targets, ref)
	}
	targets = append(targets, target{name: "wharf", host: hostOf(b, s.URL), auth: docker.EncodeAuth(api.RegistryAuth{Username: "bench", Password: s.Token()}, hostOf(b, s.URL))})
	for i := range b.N {
		for _, t := range targets {
			ref := fmt.Sprintf("%s/default/bench%d:%d", t.host, imageSizeMB, i)
			push := timed(b, func(ctx context.Context) error { return pushImage(ctx, cli, img, ref, t.auth) })
			pull := timed(b, func(ctx context.Context) error { return pullAll(ctx, engines, ref, t.auth) })
			b.ReportMetric(push.Seconds(), t.name+"-push-s")
			b.ReportMetric(pull.Seconds(), t.name+"-pull3-s")
			b.ReportMetric((push + pull).Seconds(), t.name+"-total-s")
			for _, e := range engines {
				if _, err := e.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// timed runs fn with a bounded context and returns how long it took.
func timed(b *testing.B, fn func(context.Context) error) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if err := fn(ctx); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// bigImage builds, once per engine (the build cache keeps it), an image of
// imageSizeMB MB of seeded random bytes and returns its tag.
func bigImage(b *testing.B, cli *client.Client) string {
	tag := fmt.Sprintf("wharf/bench%d:test", imageSizeMB)
	data := make([]byte, imageSizeMB<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(data); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	dockertest.BuildFiles(b, cli, tag, map[string][]byte{"Dockerfile": []byte("FROM scratch\nCOPY data /data\n"), "data": data})
	return tag
}

// pushImage tags img as ref on cli's engine and pushes it.
func pushImage(ctx context.Context, cli *client.Client, img, ref, auth string) error {
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: img, Target: ref}); err != nil {
		return err
	}
	res, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err == nil {
		err = res.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// pullAll pulls ref on every engine at once.
func pullAll(ctx context.Context, engines []*client.Client, ref, auth string) error {
	errs := make([]error, len(engines))
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() {
			res, err := e.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
			if err == nil {
				err = res.Wait(ctx)
			}
			if err != nil {
				errs[i] = fmt.Errorf("engine %d: pull %s: %w", i+1, ref, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hostOf is the host:port of an https:// URL.
func hostOf(b *testing.B, url string) string {
	const p = "https://"
	if len(url) <= len(p) || url[:len(p)] != p {
		b.Fatalf("server URL %q is not https://host:port", url)
	}
	return url[len(p):]
}

// referenceRegistry starts Debian's docker-registry on a free loopback
// port with its storage in a temporary directory, when it is installed.
func referenceRegistry(b *testing.B) (target, bool) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		b.Logf("no reference registry (apt-get install docker-registry): %v", err)
		return target{}, false
	}
	dir := b.TempDir()
	addr := testserver.FreeAddr(b)
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return target{name: "docker-registry", host: addr, auth: docker.EncodeAuth(api.RegistryAuth{}, addr)}, true
		}
		if time.Now().After(deadline) {
			b.Fatalf("docker-registry on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
