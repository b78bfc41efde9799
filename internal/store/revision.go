package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Revision is the store's current revision, read linearizably: every write
// acknowledged before the call is at or below it, and while it stays the
// same no key has changed. It reads no value (a count of one key), so it
// costs far less than a read of what it vouches for; a cache of reads made
// at a revision stays true while Revision still returns it.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, s.kindPrefix(KindCluster), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapEtcd(err)
	}
	return resp.Header.Revision, nil
}
