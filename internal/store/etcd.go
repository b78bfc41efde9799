package store

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Embedded is a one-member etcd running inside this process, with its data
// under a directory. It listens only on unix sockets in that directory: no
// port is opened, so several servers can run on one machine.
type Embedded struct {
	etcd      *embed.Etcd
	Client    *clientv3.Client
	clientURL string
}

// ClientURL is the etcd client endpoint (a unix socket) that other
// processes on this machine can dial.
func (e *Embedded) ClientURL() string { return e.clientURL }

// StartEmbedded starts etcd with its data in dir and waits until it serves.
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Name = "wharf"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.MaxTxnOps = MaxOps + 64
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = "100000"
	peer, _ := url.Parse("unix://" + filepath.Join(dir, "etcd-peer.sock") + ":0")
	client, _ := url.Parse("unix://" + filepath.Join(dir, "etcd-client.sock") + ":0")
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 60s", cfg.Dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, Client: v3client.New(e.Server), clientURL: client.String()}, nil
}

// Close stops etcd after it has persisted everything it acknowledged.
func (e *Embedded) Close() {
	_ = e.Client.Close()
	e.etcd.Close()
}

// Connect dials an external etcd cluster.
func Connect(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Context: ctx, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Status(sctx, endpoints[0]); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcd at %s does not answer: %w", endpoints[0], err)
	}
	return cli, nil
}
