package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/opencontainers/go-digest"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func nowNanos() int64 { return time.Now().UnixNano() }

// GC removes the blobs no manifest references (distribution's mark and
// sweep), and with untagged also the manifests no tag points at (which a
// service pinned by digest may still run: only an administrator's
// explicit choice). It never overlaps a writing request: it waits until
// none is in flight, holds new ones back while it runs, and refuses
// (conflict) while the registry was written within Config.GCQuiet, since
// a push in progress has layers no manifest references yet.
func (r *Registry) GC(ctx context.Context, untagged bool) (api.ImageGCResult, error) {
	var res api.ImageGCResult
	for !r.gc.TryLock() {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer r.gc.Unlock()
	if since := time.Since(time.Unix(0, r.lastWrite.Load())); since < r.cfg.GCQuiet {
		wait := (r.cfg.GCQuiet - since).Round(time.Second)
		return res, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("the registry was written %s ago and a push may be in progress (its layers are referenced by nothing until its manifest arrives): try the garbage collection again in %s", since.Round(time.Second), max(wait, time.Second)))
	}
	var err error
	if res.BlobsBefore, err = r.countBlobs(ctx); err != nil {
		return res, err
	}
	if res.BlobsBefore == 0 {
		// Nothing was ever pushed (mark and sweep fails on a registry
		// without a repositories directory), or nothing is left.
		return res, nil
	}
	if err := storage.MarkAndSweep(ctx, r.driver, r.ns, storage.GCOpts{RemoveUntagged: untagged, Quiet: true}); err != nil && !isPathNotFound(err) {
		return res, r.storageErr(err)
	}
	if res.BlobsAfter, err = r.countBlobs(ctx); err != nil {
		return res, err
	}
	return res, nil
}

func (r *Registry) countBlobs(ctx context.Context) (int, error) {
	n := 0
	err := r.ns.Blobs().Enumerate(ctx, func(digest.Digest) error { n++; return nil })
	if err != nil && !isPathNotFound(err) {
		return 0, r.storageErr(err)
	}
	return n, nil
}
