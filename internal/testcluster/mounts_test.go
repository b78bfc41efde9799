package testcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestVolumesAndLabelsReachTheDriver: a service's volumes and labels reach
// the driver that runs each container, each named volume named for its
// slot ("<service>-<slot>-<source>"), bind mounts as they are.
func TestVolumesAndLabelsReachTheDriver(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	d := fake.New()
	allowed := t.TempDir() // the node allows binds under it, as --allow-bind
	joinedWith(t, c, "n1", func(cfg *agent.Config) { cfg.AllowBind = []string{allowed} }, d)
	spec := api.ServiceSpec{Command: []string{"db"}, Driver: "fake", Replicas: 2,
		Volumes: []api.VolumeMount{
			{Type: api.VolumeNamed, Source: "data", Target: "/data"},
			{Type: api.VolumeBind, Source: allowed + "/db", Target: "/config", ReadOnly: true},
		},
		Labels: map[string]string{"team": "storage"}}
	if _, err := c.Client.CreateService(ctx, "db", spec); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		cts, err := c.Client.Containers(ctx, "db", "")
		if err != nil {
			return err
		}
		started := 0
		for _, ct := range cts {
			got, ok := d.LastSpec(ct.ID)
			if !ok {
				continue
			}
			started++
			want := fmt.Sprintf("db-%d-data", ct.Spec.Slot)
			if len(got.Mounts) != 2 || got.Mounts[0].Source != want || got.Mounts[0].Target != "/data" ||
				got.Mounts[1] != spec.Volumes[1] || got.Labels["team"] != "storage" {
				t.Fatalf("slot %d's driver spec: mounts %+v, labels %v; want %s on /data, the bind as it is, team=storage",
					ct.Spec.Slot, got.Mounts, got.Labels, want)
			}
		}
		if started < 2 {
			return fmt.Errorf("%d of 2 containers started", started)
		}
		return nil
	})
}
