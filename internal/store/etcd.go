package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Embedded is a one-member etcd running inside this process, with its data
// under a directory. It listens only on unix sockets that are files in that
// directory (kept 0700): no port is opened, so several servers can run on
// one machine, and no other local user can reach either socket.
type Embedded struct {
	etcd      *embed.Etcd
	Client    *clientv3.Client
	clientURL string
	dir       string
	closeOnce sync.Once
}

// ClientURL is the etcd client endpoint (a unix socket) that other
// processes of the same user on this machine can dial.
func (e *Embedded) ClientURL() string { return e.clientURL }

// Socket paths in the data dir. The client socket's name keeps the ":0"
// that earlier versions advertised, so that their client URL still works.
const (
	peerSocket   = "etcd-peer.sock"
	clientSocket = "etcd-client.sock:0"
)

// The embedded etcd's raft entries kept in memory after a snapshot (etcd's
// default is 5,000) and revisions of history kept (see StartEmbedded).
const (
	snapshotCatchUpEntries = 1
	compactionRetention    = 10000
)

// memberName is the embedded etcd's one member.
const memberName = "wharf"

// peerAdvertiseURL is the peer URL the member list holds.
func peerAdvertiseURL(dir string) string { return "unix://" + filepath.Join(dir, "etcd-peer.sock:0") }

// StartEmbedded starts etcd with its data in dir and waits until it serves.
// dir is made private to this user first (see EnsurePrivateDir).
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := EnsurePrivateDir(dir); err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	if err := finishRewrite(dir); err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: finish an interrupted rewrite: %w", dir, err)
	}
	cfg.Name = memberName
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.MaxTxnOps = MaxOps + 64
	// Memory (see "Hollow nodes" in docs/benchmarks.md): etcd keeps the
	// last SnapshotCatchUpEntries raft entries in memory for followers
	// that fall behind; this one-member cluster has none, and with
	// transactions of many containers the default 5,000 entries held over
	// 100 MB. etcd compacts its in-memory log every 100 entries (a fixed
	// count), down to this many, so the log holds between this many and
	// 100 more: at most about 100 entries here rather than 200. That
	// still holds the last 100 transactions, which after placing 10,000
	// containers are about 23 MB (see "Hollow nodes" in
	// docs/benchmarks.md). Every entry is still in the WAL, fsynced before
	// it is acknowledged.
	cfg.SnapshotCatchUpEntries = snapshotCatchUpEntries
	// Every 5 minutes etcd drops the history older than the last
	// compactionRetention revisions (current values are kept): each kept
	// revision costs its value in bbolt (mapped into memory) and an entry
	// in the in-memory key index. A watch that falls further behind gets
	// ErrCompacted and its owner lists again.
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = strconv.Itoa(compactionRetention)
	// etcd listens for peers on the URL's host part alone. For
	// "unix:///abs/path" that is empty, and Linux then binds an abstract
	// socket, which file permissions do not protect: any local user could
	// talk raft to it. So the listen URL carries the whole path as its
	// host; the advertised URL (only written into the member list of this
	// one-member cluster, never dialled) keeps the form earlier versions
	// stored, so that their data dirs start unchanged.
	peerListen := url.URL{Scheme: "unix", Host: filepath.Join(dir, peerSocket)}
	peerAdvertise, err := url.Parse(peerAdvertiseURL(dir))
	if err != nil {
		return nil, fmt.Errorf("embedded etcd peer URL: %w", err)
	}
	// The client listener uses host and path: this form is a file.
	client, err := url.Parse("unix://" + filepath.Join(dir, clientSocket))
	if err != nil {
		return nil, fmt.Errorf("embedded etcd client URL: %w", err)
	}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peerListen}, []url.URL{*peerAdvertise}
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
	// The 0700 dir already keeps others out; the sockets' own modes say
	// the same for whoever lists the dir.
	for _, s := range []string{peerSocket, clientSocket} {
		if err := os.Chmod(filepath.Join(dir, s), 0o600); err != nil {
			e.Close()
			return nil, fmt.Errorf("embedded etcd socket: %w", err)
		}
	}
	return &Embedded{etcd: e, Client: v3client.New(e.Server), clientURL: client.String(), dir: dir}, nil
}

// Close stops etcd after it has persisted everything it acknowledged.
// Closing it again does nothing.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		_ = e.Client.Close()
		e.etcd.Close()
	})
}
