package testcluster

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// contextTar is a build context of the given files.
func contextTar(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// TestBuildOnNodeDocker: the whole node path with a real engine and the
// server's real built-in registry. A context uploaded through the API is
// built by the engine of the one node whose agent allows builds, pushed
// to the registry with the build's credential (the node keeps no image),
// and a service of the pushed digest runs. A Dockerfile that fails returns
// its error and pushes nothing.
func TestBuildOnNodeDocker(t *testing.T) {
	cli := dockertest.Require(t)
	hello := dockertest.HelloImage(t)
	d := newDockerDriver(t, docker.Options{})
	var pulled string
	t.Cleanup(func() {
		if pulled != "" {
			dockertest.RemoveImage(t, cli, pulled)
		}
	})
	c := Start(t, Options{})
	a := joinedWith(t, c, "builder", func(cfg *agent.Config) { cfg.AllowBuilds = true }, d)
	ctx := context.Background()
	Eventually(t, 30*time.Second, func() error {
		n, err := c.Client.Node(ctx, a.NodeID())
		if err != nil || n.State != api.NodeDeployed || !n.AllowBuilds {
			return fmt.Errorf("node %+v, %v", n, err)
		}
		return nil
	})
	info, err := c.Client.RegistryInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	req := api.BuildRequest{Repository: "default/nodebuild-web", Tag: "t1", Args: map[string]string{"WHO": "node"}}
	res, err := c.Client.Build(ctx, req, contextTar(t, map[string]string{
		"Dockerfile": "FROM " + hello + "\nARG WHO\nLABEL wharf.test.built-by=$WHO\n",
	}), &out)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if res.Node != a.NodeID() || !strings.HasPrefix(res.Digest, "sha256:") || !strings.Contains(out.String(), "Step 3/3 : LABEL") {
		t.Fatalf("build: %+v\n%s", res, out.String())
	}
	ref := info.Host + "/" + req.Repository + ":" + req.Tag
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		t.Fatalf("the node kept the image it built (%s)", ref)
	}
	pulled = ref + "@" + res.Digest
	svc, err := c.Client.CreateService(ctx, "nodebuilt", api.ServiceSpec{Image: pulled, PullPolicy: api.PullBuild,
		Command: []string{"hello", "--say", "hi"}, Replicas: 1, Ports: []api.PortSpec{{ContainerPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	waitService(t, c, svc.Name, func(s api.Service, cts []api.Container) error {
		for _, ct := range cts {
			if ct.Status.State == api.ContainerRunning && ct.Spec.Image == pulled {
				return nil
			}
		}
		b, _ := json.Marshal(cts)
		return fmt.Errorf("no container of %s runs: %s", pulled, b)
	})
	img, err := cli.ImageInspect(ctx, pulled)
	if err != nil || img.Config == nil || img.Config.Labels["wharf.test.built-by"] != "node" {
		t.Fatalf("the image that runs: %+v, %v", img.Config, err)
	}

	// A Dockerfile that fails: its error, nothing pushed.
	out.Reset()
	_, err = c.Client.Build(ctx, api.BuildRequest{Repository: "default/nodebuild-web", Tag: "t2"}, contextTar(t, map[string]string{
		"Dockerfile": "FROM " + hello + "\nRUN [\"/wharf\", \"no-such-command\"]\n",
	}), &out)
	if err == nil || !strings.Contains(err.Error(), "returned a non-zero code") || !strings.Contains(err.Error(), "build default/nodebuild-web failed") {
		t.Fatalf("a failing build: %v\n%s", err, out.String())
	}
	imgs, err := c.Client.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		if im.Repository == "default/nodebuild-web" && im.Tag == "t2" {
			t.Fatalf("the failed build pushed %+v", im)
		}
	}
}
