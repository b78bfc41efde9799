package docker

import (
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestSpecHashUnchanged: the wharf.spec label of a container is the hash
// of its Spec alone; the host configuration (no-new-privileges included)
// is not in it, so an agent that adds one still finds its running
// containers' specs unchanged and adopts them. The want values are what
// the agents before no-new-privileges computed.
func TestSpecHashUnchanged(t *testing.T) {
	for want, s := range map[string]runtime.Spec{
		"7d841e7933b5e0d9aeeb7519": {ID: "c1", Name: "web-1", Service: "web", Slot: 1, Node: "n1", Image: "img", Command: []string{"serve"}},
		"9bc2240de2877585f728d76d": {ID: "c2", Name: "db-2", Service: "db", Slot: 2, Node: "n1", Image: "img",
			Ports:  []api.PortSpec{{ContainerPort: 5432}},
			Mounts: []api.VolumeMount{{Type: api.VolumeNamed, Source: "db-2-data", Target: "/data"}}},
	} {
		if got := specHash(s); got != want {
			t.Errorf("specHash(%s) = %s, want %s as before", s.ID, got, want)
		}
	}
}

// TestContainersRunHardened: every container the driver makes is not
// privileged and has no-new-privileges.
func TestContainersRunHardened(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "nnp-"+t.Name())
	st, err := d.Start(ctx20(t), spec(image, "hardened1"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := d.cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := in.Container.HostConfig
	if h.Privileged || !slices.Contains(h.SecurityOpt, noNewPrivileges) {
		t.Fatalf("host config: privileged %v, security options %v; want unprivileged with %s", h.Privileged, h.SecurityOpt, noNewPrivileges)
	}
}

// TestPreHardeningContainerAdopted: a container an older agent made
// without no-new-privileges keeps running when the new driver starts its
// spec (adopted, not recreated); once it has exited, its next run gets a
// new, hardened container.
func TestPreHardeningContainerAdopted(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	node := "nnp-old-" + t.Name()
	d := newDriver(t, node)
	s := spec(image, "oldagent1")
	s.Node = node
	cfg, host, err := containerConfig(s, node)
	if err != nil {
		t.Fatal(err)
	}
	host.SecurityOpt = nil // as the agents before made it
	created, err := d.cli.ContainerCreate(ctx20(t), client.ContainerCreateOptions{Name: containerName(s), Config: cfg, HostConfig: host})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.cli.ContainerStart(ctx20(t), created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := d.Start(ctx20(t), s)
	if err != nil || st.DriverID != created.ID || st.State != runtime.StateRunning {
		t.Fatalf("Start of a running pre-hardening container = %+v, %v; want it adopted as %s, running", st, err, created.ID)
	}
	if err := d.Stop(ctx20(t), s.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	again, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if again.DriverID == created.ID {
		t.Fatal("the exited pre-hardening container was started again, want a new hardened one")
	}
	in, err := d.cli.ContainerInspect(ctx20(t), again.DriverID, client.ContainerInspectOptions{})
	if err != nil || !slices.Contains(in.Container.HostConfig.SecurityOpt, noNewPrivileges) {
		t.Fatalf("new container: %v, %v", in.Container.HostConfig.SecurityOpt, err)
	}
}
