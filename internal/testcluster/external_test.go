package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// TestServerOnAnExternalEtcd runs the server with --etcd-endpoints: every
// object lands in that etcd. A second server on the same etcd is a
// standby: it serves nothing while the first is active (two would each
// fill the same missing slot), and takes over, with the same CA and data,
// when the first stops.
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

	cfg := server.Config{
		DataDir: filepath.Join(t.TempDir(), "server"), Addr: freeAddr(t), AgentAddr: freeAddr(t),
		Advertise: "127.0.0.1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version: api.Version{Version: "test"}, Out: io.Discard, EtcdEndpoints: []string{e.ClientURL()},
		KEKFile: filepath.Join(c.DataDir, "server", "kek"), // servers on one etcd share the key-encryption key
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.Run(sctx, cfg) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("second server: %v", err)
		}
	}()
	// Both are candidates once the second waits; it listens on nothing.
	Eventually(t, 30*time.Second, func() error {
		resp, err := e.Client.Get(ctx, "/wharf/cluster/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || resp.Count != 2 {
			return fmt.Errorf("%v candidates (%v)", resp, err)
		}
		return nil
	})
	for _, addr := range []string{cfg.Addr, cfg.AgentAddr} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			t.Fatalf("the standby listens on %s while the first server is active", addr)
		}
	}

	c.StopServer() // resigns: the standby takes over at once
	other, err := client.New(client.Options{Addr: "https://" + cfg.Addr, Token: c.Token, CACert: c.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		return other.Do(ctx, "GET", "/readyz", nil, nil) // ready: its controllers run
	})
	if got, err := other.Service(ctx, "web"); err != nil || got.ID != svc.ID {
		t.Fatalf("the second server does not see the first one's service: %+v %v", got, err)
	}
	if _, err := other.CreateService(ctx, "api", api.ServiceSpec{Command: []string{"true"}, Replicas: 0}); err != nil {
		t.Fatal(err)
	}
}
