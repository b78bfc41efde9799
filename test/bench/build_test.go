package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// BenchmarkBuildUnchanged measures what `wharf stack deploy` adds for
// compose `build:` services whose context did not change: the example
// of examples/build (two build services, about 16 MB of context) is
// deployed once (built and pushed), then deployed again and again with
// --detach, alternating with the same stack written with the images the
// first deploy printed instead of `build:` (nothing to hash or ask).
// The medians of both, and their difference, are reported; the stack
// runs on no node (no agent), so both measure the CLI and the API only.
// WHARF_BENCH_ROUNDS changes the number of deploys of each form.
func BenchmarkBuildUnchanged(b *testing.B) {
	dockertest.Require(b)
	rounds := envInt(b, "WHARF_BENCH_ROUNDS", 15)
	bin := testserver.Binary(b)
	for range b.N {
		s := testserver.Start(b, testserver.Options{})
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "ca.crt"), s.CA(), 0o600); err != nil {
			b.Fatal(err)
		}
		env := append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "WHARF_ADDR="+s.URL,
			"WHARF_CACERT="+filepath.Join(dir, "ca.crt"), "WHARF_TOKEN="+s.Token())
		deploy := func(file string) (time.Duration, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "stack", "deploy", "--detach", "-f", file, "demo")
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("stack deploy -f %s: %v\n%s", file, err, out)
			}
			return time.Since(start), string(out)
		}
		app := buildtest.ExampleApp(b)
		_, out := deploy(app)
		plain := plainStack(b, app, out)
		var withBuild, without []time.Duration
		for range rounds {
			d, out := deploy(app)
			if strings.Contains(out, "pushed") {
				b.Fatalf("an unchanged deploy pushed:\n%s", out)
			}
			withBuild = append(withBuild, d)
			d, _ = deploy(plain)
			without = append(without, d)
		}
		mb, mp := median(withBuild), median(without)
		b.ReportMetric(float64(mb.Milliseconds()), "unchanged-build-deploy-ms")
		b.ReportMetric(float64(mp.Milliseconds()), "image-only-deploy-ms")
		b.ReportMetric(float64((mb - mp).Milliseconds()), "added-ms")
	}
}

// pushedRE is the line the CLI prints for a build service's image.
var pushedRE = regexp.MustCompile(`image (\w+): pushed (\S+)`)

// plainStack writes next to file the same stack with each build
// service's `build:` replaced by the image the first deploy pushed.
func plainStack(b *testing.B, file, out string) string {
	images := map[string]string{}
	for _, m := range pushedRE.FindAllStringSubmatch(out, -1) {
		images[m[1]] = m[2]
	}
	if len(images) != 2 {
		b.Fatalf("the first deploy pushed %v, want web and worker:\n%s", images, out)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	s := string(src)
	s = strings.Replace(s, "    build: ./web\n    # Names the built image: greeter below runs the same one.\n    image: demo-web\n", "    image: "+images["web"]+"\n", 1)
	s = strings.Replace(s, "    image: demo-web\n", "    image: "+images["web"]+"\n", 1)
	s = regexp.MustCompile(`(?s)    build:\n      context: ./worker\n.*?EXAMPLE: "1"\n`).ReplaceAllString(s, "    image: "+images["worker"]+"\n")
	if strings.Contains(s, "build:") {
		b.Fatalf("the example changed: cannot write it without build:\n%s", s)
	}
	plain := filepath.Join(filepath.Dir(file), "plain.yml")
	if err := os.WriteFile(plain, []byte(s), 0o600); err != nil {
		b.Fatal(err)
	}
	return plain
}

// median is the middle of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
