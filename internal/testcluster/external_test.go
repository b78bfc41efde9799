package testcluster

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestServerOnAnExternalEtcd runs the server with --etcd-endpoints: every
// object lands in that etcd, and a second server on it shares the same CA
// and data.
func TestServerOnAnExternalEtcd(t *testing.T) {
	ctx := context.Background()
	e, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := Start(t, Options{EtcdEndpoints: []string{e.ClientURL()}})
	svc, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"true"}, Replicas: 0})
	if err != nil {
		t.Fatal(err)
	}
	var stored api.Service
	if err := store.New(e.Client, "/wharf").Get(ctx, store.KindServices, svc.ID, &stored); err != nil || stored.Name != "web" {
		t.Fatalf("service not in the external etcd: %+v %v", stored, err)
	}
	other := Start(t, Options{EtcdEndpoints: []string{e.ClientURL()}, Token: c.Token})
	if string(other.CAPEM) != string(c.CAPEM) {
		t.Fatal("two servers on one etcd made different CAs")
	}
	if got, err := other.Client.Service(ctx, "web"); err != nil || got.ID != svc.ID {
		t.Fatalf("the second server does not see the first one's service: %+v %v", got, err)
	}
}
