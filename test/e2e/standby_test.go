package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testcluster"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestStandbyTakesOverFromAKilledServer runs two `wharf server` processes
// on one etcd (embedded in the test, reached on its unix socket). The
// second waits as a standby and listens on nothing; once the active one is
// killed with SIGKILL (no resign), it takes over when the lease runs out
// and serves the same cluster: the same CA, token and services.
func TestStandbyTakesOverFromAKilledServer(t *testing.T) {
	ctx := context.Background()
	etcd, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	// Servers on one etcd share the key-encryption key: the first makes it.
	args := []string{"--etcd-endpoints", etcd.ClientURL(), "--kek-file", filepath.Join(t.TempDir(), "kek")}
	active := testserver.Start(t, testserver.Options{Args: args})
	if _, err := active.Client().CreateService(ctx, "web", api.ServiceSpec{Command: []string{"true"}}); err != nil {
		t.Fatal(err)
	}

	standby := testserver.New(t, testserver.Options{Args: args, Token: active.Token()})
	standby.Launch()
	testcluster.Eventually(t, 30*time.Second, func() error {
		resp, err := etcd.Client.Get(ctx, "/wharf/cluster/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || resp.Count != 2 {
			return fmt.Errorf("candidates: %v (%v)", resp, err)
		}
		return nil
	})
	if conn, err := net.DialTimeout("tcp", standby.Addr, time.Second); err == nil {
		_ = conn.Close()
		t.Fatal("the standby serves the API while the active server runs")
	}

	active.Kill()
	killed := time.Now()
	if err := standby.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("the standby took over %v after the kill (lease TTL 10s)", time.Since(killed).Round(100*time.Millisecond))
	if string(standby.CA()) != string(active.CA()) {
		t.Fatal("the standby serves another CA")
	}
	svc, err := standby.Client().Service(ctx, "web")
	if err != nil || svc.Name != "web" {
		t.Fatalf("the service on the new active server: %+v %v", svc, err)
	}

	// The killed server, started again, is now the standby, behind the
	// new active one (the candidate created first).
	active.Launch()
	testcluster.Eventually(t, 30*time.Second, func() error {
		all, err := etcd.Client.Get(ctx, "/wharf/cluster/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || all.Count != 2 {
			return fmt.Errorf("candidates: %v (%v)", all, err)
		}
		leader, err := etcd.Client.Get(ctx, "/wharf/cluster/leader/", clientv3.WithFirstCreate()...)
		if err != nil || len(leader.Kvs) != 1 || !strings.HasSuffix(string(leader.Kvs[0].Value), " "+standby.URL) {
			return fmt.Errorf("the leader is %v (%v), not the new active server %s", leader, err, standby.URL)
		}
		return nil
	})
	if conn, err := net.DialTimeout("tcp", active.Addr, time.Second); err == nil {
		_ = conn.Close()
		t.Fatal("the restarted server serves the API beside the active one")
	}
}
