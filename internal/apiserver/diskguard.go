package apiserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// DefaultMinFreeDisk is the free space the disk guard keeps in the data
// dir: more than the 64 MiB WAL segment the embedded etcd allocates ahead,
// so that it never runs out of space in the middle of a write (which stops
// it), plus room for the database to grow.
const DefaultMinFreeDisk = 128 << 20

// DiskGuard keeps the embedded store off a full disk: while the filesystem
// of dir has less than minFree bytes free, it refuses every mutating API
// call (any method but GET, HEAD and OPTIONS under /v1/) with 507
// Insufficient Storage and code insufficient_storage, which say how much
// is free and what to do; reads go on. It measures on each such call, so
// writes resume as soon as space returns. Writes the server makes on its
// own (agent status reports, events) are not refused: the reserve is for
// them.
type DiskGuard struct {
	dir     string
	minFree uint64
	log     *slog.Logger
	// free measures the free bytes of dir's filesystem; a test replaces it.
	free func(dir string) (uint64, error)
	low  atomic.Bool // the last measure was under minFree
}

// NewDiskGuard returns a guard of dir's filesystem; minFree 0 means
// DefaultMinFreeDisk.
func NewDiskGuard(dir string, minFree uint64, log *slog.Logger) *DiskGuard {
	if minFree == 0 {
		minFree = DefaultMinFreeDisk
	}
	return &DiskGuard{dir: dir, minFree: minFree, log: log, free: freeBytes}
}

// Wrap returns h behind the guard.
func (g *DiskGuard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mutating(r) {
			if err := g.check(); err != nil {
				errhttp.Write(w, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// mutating reports whether r is an API call that may write to the store.
func mutating(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	// /v2/ is the built-in registry: a push on the data dir's disk
	// fills it as surely as the store does.
	return strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(r.URL.Path, "/v2/")
}

// check measures the free space and returns an ErrInsufficientStorage
// error when it is under the reserve. It logs each change between low and
// enough. A failed measure lets the write through: the guard must not stop
// a healthy server.
func (g *DiskGuard) check() error {
	free, err := g.free(g.dir)
	if err != nil {
		g.log.Warn("cannot measure the data dir's free space; not guarding writes", "dir", g.dir, "err", err)
		return nil
	}
	low := free < g.minFree
	if g.low.Swap(low) != low {
		if low {
			g.log.Error("data dir nearly full: refusing API writes", "dir", g.dir, "free_bytes", free, "reserve_bytes", g.minFree)
		} else {
			g.log.Info("data dir has room again: accepting API writes", "dir", g.dir, "free_bytes", free)
		}
	}
	if !low {
		return nil
	}
	return newErr(errdefs.ErrInsufficientStorage,
		"the server's data dir %s is nearly full (%s free, %s reserved for the store): writes are refused until space returns; "+
			"free space on its filesystem (or move --data-dir to a larger one); reads still work", g.dir, mib(free), mib(g.minFree))
}

// freeBytes is the space of dir's filesystem available to the server.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil //nolint:gosec // Bsize is positive
}

// mib formats a byte count in MiB.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
