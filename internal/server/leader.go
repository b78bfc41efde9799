package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// leaderPrefix is where the servers sharing one etcd elect the active one.
const leaderPrefix = "/wharf/cluster/leader"

// leadership is this server's term as the one active server on a shared
// etcd. Only one server may run the controllers and the gateway at a time:
// two would each create a container for the same missing slot, and each
// would mark the other's agents Unreachable.
type leadership struct {
	sess *concurrency.Session
	el   *concurrency.Election
}

// lead waits until this server is the active one on the shared etcd: a
// second server is a standby that takes over when the active one stops
// (at once when it stops cleanly, within ttl when it dies). A server that
// restarts after a crash takes its own place back at once: it revokes the
// lease its previous run left, which it knows by the server ID in dataDir.
func lead(ctx context.Context, cli *clientv3.Client, dataDir, apiURL string, ttl time.Duration, log *slog.Logger) (*leadership, error) {
	id, err := serverID(dataDir)
	if err != nil {
		return nil, err
	}
	if err := revokeOwnLeases(ctx, cli, id); err != nil {
		return nil, err
	}
	// The session outlives ctx: a stopping server resigns (resign closes
	// it) rather than letting its lease lapse, and a lapse is a loss.
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(max(1, int(ttl.Seconds()))),
		concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	el := concurrency.NewElection(sess, leaderPrefix)
	if resp, err := el.Leader(ctx); err == nil && len(resp.Kvs) > 0 {
		_, other, _ := strings.Cut(string(resp.Kvs[0].Value), " ")
		log.Warn("standby: another wharf server is active on this etcd; this one takes over when it stops",
			"active", other, "takeover_within", ttl)
	}
	if err := el.Campaign(ctx, id+" "+apiURL); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("leader election: %w", err)
	}
	log.Info("this server is the active one on the shared etcd", "server_id", id)
	return &leadership{sess: sess, el: el}, nil
}

// lost is closed when the term ends without a resign: the lease expired
// (etcd unreachable for its TTL) and another server may be active now.
func (l *leadership) lost() <-chan struct{} { return l.sess.Done() }

// resign ends the term so that a standby takes over at once.
func (l *leadership) resign() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.el.Resign(ctx)
	_ = l.sess.Close()
}

// revokeOwnLeases removes the candidacies a previous run of this server
// (same server ID) left behind when it died, which would otherwise hold
// the election until their leases expire.
func revokeOwnLeases(ctx context.Context, cli *clientv3.Client, id string) error {
	resp, err := cli.Get(ctx, leaderPrefix+"/", clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	for _, kv := range resp.Kvs {
		who, _, _ := strings.Cut(string(kv.Value), " ")
		if who != id || kv.Lease == 0 {
			continue
		}
		if _, err := cli.Revoke(ctx, clientv3.LeaseID(kv.Lease)); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return fmt.Errorf("leader election: revoke the lease of this server's previous run: %w", err)
		}
	}
	return nil
}

// serverID is this server's lasting identity, kept in dataDir/server-id.
func serverID(dataDir string) (string, error) {
	p := filepath.Join(dataDir, "server-id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server ID: %w", err)
	}
	return id, nil
}
