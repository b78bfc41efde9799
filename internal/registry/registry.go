package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	// The storage drivers the registry offers: the server's disk, and
	// S3-compatible buckets.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

// Registry is the embedded registry. Make it with New; Close stops it.
type Registry struct {
	cfg     Config
	app     http.Handler
	driver  storagedriver.StorageDriver
	ns      distribution.Namespace
	storage string // "filesystem" or "s3aws", for messages
	cancel  context.CancelFunc

	// gc is held for reading by every request that writes, and for
	// writing by a garbage collection, so that the two never overlap.
	gc sync.RWMutex
	// lastWrite is when the last writing request ended (unix nanos).
	lastWrite atomic.Int64
}

// New builds the registry over its storage. A storage configuration that
// the driver refuses (no bucket, an unknown region, ...) is an error that
// names it; nothing is contacted yet.
func New(ctx context.Context, cfg Config) (r *Registry, err error) {
	if cfg.HTTPSecret == "" {
		return nil, errors.New("registry: Config.HTTPSecret is required (uploads must survive restarts)")
	}
	if cfg.GCQuiet == 0 {
		cfg.GCQuiet = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	quietLogging(cfg.Logger)
	name, params, err := cfg.driver()
	if err != nil {
		return nil, err
	}
	drv, err := factory.Create(ctx, name, params)
	if err != nil {
		return nil, fmt.Errorf("registry storage (%s): %w", name, err)
	}
	ns, err := storage.NewRegistry(ctx, drv, storage.EnableDelete)
	if err != nil {
		return nil, fmt.Errorf("registry storage (%s): %w", name, err)
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	// NewApp panics on a configuration it cannot use; the driver was
	// checked above, so this is a bug, still reported as an error.
	defer func() {
		if v := recover(); v != nil {
			cancel()
			r, err = nil, fmt.Errorf("registry: distribution refused its configuration: %v", v)
		}
	}()
	app := handlers.NewApp(actx, cfg.distConfig(name, params))
	return &Registry{cfg: cfg, app: app, driver: drv, ns: ns, storage: name, cancel: cancel}, nil
}

// Close stops the registry's background work (the purge of abandoned
// uploads).
func (r *Registry) Close() { r.cancel() }

// Storage is the storage driver's name: "filesystem" or "s3aws".
func (r *Registry) Storage() string { return r.storage }

// Handler serves the registry API (/v2/...) with no authentication: the
// caller must put its own in front. A writing request waits while a
// garbage collection runs.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			r.app.ServeHTTP(w, req)
			return
		}
		r.gc.RLock()
		defer func() {
			r.lastWrite.Store(time.Now().UnixNano())
			r.gc.RUnlock()
		}()
		r.lastWrite.Store(time.Now().UnixNano())
		r.app.ServeHTTP(w, req)
	})
}
