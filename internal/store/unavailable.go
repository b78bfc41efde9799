package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// ErrUnavailable means etcd cannot serve the request now: it has no leader
// (quorum lost), its leader changed under the request, it timed out, it is
// stopped or out of reach. Nothing was decided: the caller may retry later.
// It counts as errdefs.ErrUnavailable.
var ErrUnavailable = errdefs.New(errdefs.ErrUnavailable, "the store (etcd) cannot serve requests right now")

// DefaultOpTimeout bounds one store operation (a read, a transaction) when
// the caller's context has no earlier deadline. etcd answers in
// milliseconds when healthy; a request that waits this long is waiting for
// a leader that is not coming soon, and is better answered 503.
const DefaultOpTimeout = 10 * time.Second

// SetOpTimeout changes the bound of one store operation (default
// DefaultOpTimeout). Call it before the store is used.
func (s *Store) SetOpTimeout(d time.Duration) { s.opTimeout = d }

// opContext is the context of one store operation: bounded by the store's
// timeout, and failing at once on an etcd member that knows it has no
// leader instead of waiting for one.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.opTimeout
	if d <= 0 {
		d = DefaultOpTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return clientv3.WithRequireLeader(ctx), cancel
}

// wrapEtcd turns an etcd client error into the store's vocabulary: the
// errors that mean "etcd cannot serve now" become ErrUnavailable (keeping
// the original in the chain); the rest are wrapped as they are.
func wrapEtcd(err error) error {
	switch {
	case err == nil:
		return nil
	case unavailable(err):
		return fmt.Errorf("%w (%w); retry shortly", ErrUnavailable, err)
	}
	return fmt.Errorf("store: %w", err)
}

// unavailable reports whether err is etcd saying it cannot serve now.
func unavailable(err error) bool {
	for _, e := range []error{
		rpctypes.ErrNoLeader, rpctypes.ErrNotLeader, rpctypes.ErrLeaderChanged, rpctypes.ErrStopped,
		rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost,
		rpctypes.ErrTimeoutWaitAppliedIndex, rpctypes.ErrUnhealthy,
		context.DeadlineExceeded, // the store's own timeout (opContext) or the caller's
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.Unavailable
	}
	if st, ok := status.FromError(err); ok {
		return st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded
	}
	return false
}
