package testcluster

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/etcdtest"
)

// TestServerOnAnEtcdWithUsers runs the whole server on an external etcd
// with authentication enabled, as a user whose role may only use /wharf/:
// the election, the leases and every write work with that alone. Without
// a user the server does not start, and says which flags to give.
func TestServerOnAnEtcdWithUsers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "client.sock")
	cfg := embed.NewConfig()
	cfg.Name = "ext"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	peerListen := url.URL{Scheme: "unix", Host: filepath.Join(dir, "peer.sock")}
	peer, _ := url.Parse("unix://" + filepath.Join(dir, "peer.sock"))
	client, _ := url.Parse(sock)
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peerListen}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close) // after the server's own cleanup stops it
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd not ready")
	}
	admin, err := store.Connect(ctx, store.External{Endpoints: []string{sock}})
	if err != nil {
		t.Fatal(err)
	}
	if err := etcdtest.EnableAuth(ctx, admin, "/wharf/", "wharf", "s3cret"); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()

	err = server.Run(ctx, server.Config{DataDir: filepath.Join(dir, "refused"), Addr: freeAddr(t), AgentAddr: freeAddr(t),
		EtcdEndpoints: []string{sock}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--etcd-user") {
		t.Fatalf("a server without a user: %v", err)
	}

	c := Start(t, Options{EtcdEndpoints: []string{sock}, Etcd: store.External{Username: "wharf", Password: "s3cret"}})
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"true"}, Replicas: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Service(ctx, "web"); err != nil {
		t.Fatal(err)
	}
}
