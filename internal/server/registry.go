package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// registryKeyDoc is the built-in registry's key as stored: sealed, so that
// every server sharing the store has the same one (an upload begun on one
// survives a standby's takeover; a node's pull credential stays valid).
type registryKeyDoc struct {
	api.Meta
	KeySealed string `json:"key_sealed"`
}

const registryKeyPurpose = "cluster/registry-key"

// loadOrCreateRegistryKey reads the registry key, or makes it on the
// first start; two servers racing agree on the one written first.
func loadOrCreateRegistryKey(ctx context.Context, st *store.Store, sealer *seal.Sealer) ([]byte, error) {
	var doc registryKeyDoc
	err := st.Get(ctx, store.KindCluster, "registry-key", &doc)
	if errors.Is(err, store.ErrNotFound) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		sealed, serr := sealer.Seal(registryKeyPurpose, key)
		if serr != nil {
			return nil, serr
		}
		doc = registryKeyDoc{Meta: api.Meta{ID: "registry-key"}, KeySealed: sealed}
		err = st.Create(ctx, store.KindCluster, &doc)
		if errors.Is(err, store.ErrExists) {
			err = st.Get(ctx, store.KindCluster, "registry-key", &doc)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("registry key: %w", err)
	}
	key, err := sealer.Open(registryKeyPurpose, doc.KeySealed)
	if err != nil {
		return nil, fmt.Errorf("registry key: %w", err)
	}
	return key, nil
}

// derive is an HMAC of label under key: the registry key's uses each get a
// key of their own.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// openRegistry builds the built-in registry on <data-dir>/registry or the
// configured S3 bucket.
func openRegistry(ctx context.Context, cfg Config, key []byte, log *slog.Logger) (*registry.Registry, error) {
	s3 := cfg.RegistryS3
	if cfg.RegistryS3CredentialsFile != "" {
		if s3.Bucket == "" {
			return nil, errors.New("--registry-s3-credentials-file needs --registry-s3-bucket")
		}
		ak, sk, err := registry.ReadS3Credentials(cfg.RegistryS3CredentialsFile)
		if err != nil {
			return nil, err
		}
		s3.AccessKey, s3.SecretKey = ak, sk
	}
	return registry.New(ctx, registry.Config{
		Dir: filepath.Join(cfg.DataDir, "registry"), S3: s3,
		HTTPSecret: hex.EncodeToString(derive(key, "distribution http secret")),
		GCQuiet:    cfg.RegistryGCQuiet,
		Logger:     log,
	})
}

// builtinRegistryAuth is the gateway's BuiltinRegistryAuth: the built-in
// registry's host and the pull credential of node n, signed by the
// domain layer (*dom is set before the gateway runs).
func builtinRegistryAuth(host string, dom **domain.Domain, log *slog.Logger) func(context.Context, records.Node) (string, api.RegistryAuth, bool) {
	return func(_ context.Context, n records.Node) (string, api.RegistryAuth, bool) {
		d := *dom
		if d == nil {
			return "", api.RegistryAuth{}, false
		}
		auth, err := d.NodeRegistryCredential(n)
		if err != nil {
			log.Warn("no registry pull credential for a node", "node", n.ID, "err", err)
			return "", api.RegistryAuth{}, false
		}
		return host, auth, true
	}
}

// collectPeriodically runs the registry's garbage collection every
// interval until ctx ends. A collection refused because a push is in
// progress waits for the next round.
func collectPeriodically(ctx context.Context, images *registry.Registry, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := images.GC(ctx, false)
		switch {
		case errdefs.IsConflict(err):
			log.Debug("registry garbage collection postponed", "reason", err)
		case err != nil && ctx.Err() == nil:
			log.Warn("registry garbage collection failed", "err", err)
		case err == nil && res.BlobsAfter < res.BlobsBefore:
			log.Info("registry garbage collected", "blobs_removed", res.BlobsBefore-res.BlobsAfter, "blobs_left", res.BlobsAfter)
		}
	}
}
