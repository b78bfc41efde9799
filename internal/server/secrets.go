package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// kekPath is where the key-encryption key is kept when the cluster is not
// locked: --kek-file, or <data-dir>/kek.
func kekPath(cfg Config) string {
	if cfg.KEKFile != "" {
		return cfg.KEKFile
	}
	return filepath.Join(cfg.DataDir, "kek")
}

// openSealer gives the server the cluster's sealer, which encrypts the
// secrets it keeps in the store. On the first start of a cluster it makes
// the data key and the key-encryption key (KEK): the KEK goes to the KEK
// file, or, with --autolock, to the operator alone (printed once). A
// server whose KEK does not open the cluster's keyring refuses to start
// and says which file to fix; a locked cluster's server waits for
// `wharf server unlock`.
func openSealer(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (*seal.Sealer, error) {
	for range 3 { // a lost race to create the keyring loads the winner's
		kr, err := seal.LoadKeyring(ctx, st)
		if errors.Is(err, store.ErrNotFound) {
			s, err := createKeyring(ctx, cfg, st)
			if errors.Is(err, store.ErrExists) {
				continue
			}
			return s, err
		}
		if err != nil {
			return nil, fmt.Errorf("cluster keyring: %w", err)
		}
		open := func() (*seal.Sealer, seal.KEK, error) { return openWithKEKFile(cfg, kr) }
		if kr.Autolock {
			open = func() (*seal.Sealer, seal.KEK, error) { return waitUnlocked(ctx, cfg, kr, log) }
		}
		s, kek, err := open()
		if err != nil {
			return nil, err
		}
		return s, rekey(ctx, cfg, st, kr, kek, log)
	}
	return nil, errors.New("cluster keyring: it keeps changing under this server; is another one starting with other keys?")
}

// createKeyring makes the cluster's keys on its first start (or the first
// start of a cluster made before secrets were sealed).
func createKeyring(ctx context.Context, cfg Config, st *store.Store) (*seal.Sealer, error) {
	path := kekPath(cfg)
	var kek seal.KEK
	wrote := false
	if cfg.Autolock {
		k, err := seal.NewKEK()
		if err != nil {
			return nil, err
		}
		kek = k
	} else if k, err := seal.ReadKEKFile(path); err == nil {
		kek = k // the operator made one for the whole cluster
	} else if errors.Is(err, os.ErrNotExist) {
		if kek, err = seal.NewKEK(); err != nil {
			return nil, err
		}
		switch err := seal.WriteKEKFile(path, kek); {
		case errors.Is(err, os.ErrExist): // a server sharing the file wrote it first
			if kek, err = seal.ReadKEKFile(path); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("key-encryption key: %w", err)
		default:
			wrote = true
		}
	} else {
		return nil, err
	}
	_, s, err := seal.CreateKeyring(ctx, st, kek, cfg.Autolock)
	if err != nil {
		if wrote {
			_ = os.Remove(path) // another server made the keyring: its KEK is the one
		}
		return nil, fmt.Errorf("cluster keyring: %w", err)
	}
	if cfg.Autolock {
		printUnlockKey(cfg, kek)
	}
	return s, nil
}

// openWithKEKFile opens an unlocked cluster's keyring with the KEK file.
func openWithKEKFile(cfg Config, kr *seal.Keyring) (*seal.Sealer, seal.KEK, error) {
	path := kekPath(cfg)
	kek, err := seal.ReadKEKFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, kek, fmt.Errorf("this cluster's secrets are sealed with a key-encryption key that is not at %s: copy the kek file of a server of this cluster there (mode 0600), or give its path with --kek-file", path)
	}
	if err != nil {
		return nil, kek, err
	}
	s, err := kr.Open(kek)
	if errors.Is(err, seal.ErrWrongKey) {
		return nil, kek, fmt.Errorf("the key-encryption key in %s does not open this cluster's secrets (it was made for another cluster, or the KEK was rotated since): give this cluster's current one with --kek-file; every server sharing one etcd needs the same", path)
	}
	return s, kek, err
}

// rekey replaces the KEK when asked: --rotate-kek, or --autolock on a
// cluster that is not locked yet (the new KEK then goes to the operator
// only, and the KEK file is removed). The data key and the secrets stay.
func rekey(ctx context.Context, cfg Config, st *store.Store, kr *seal.Keyring, kek seal.KEK, log *slog.Logger) error {
	lock := kr.Autolock || cfg.Autolock
	if !cfg.RotateKEK && lock == kr.Autolock {
		return nil
	}
	next, err := seal.NewKEK()
	if err != nil {
		return err
	}
	path := kekPath(cfg)
	if !lock { // write the new file first: a crash leaves the old KEK valid
		tmp := path + ".new"
		_ = os.Remove(tmp)
		if err := seal.WriteKEKFile(tmp, next); err != nil {
			return fmt.Errorf("rotate the key-encryption key: %w", err)
		}
		if err := kr.Rewrap(ctx, st, kek, next, false); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("rotate the key-encryption key: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rotate the key-encryption key: the new one is in %s, move it to %s: %w", tmp, path, err)
		}
		log.Warn("rotated the key-encryption key: copy the new file to every other server of this cluster before they restart", "file", path)
		return nil
	}
	if err := kr.Rewrap(ctx, st, kek, next, true); err != nil {
		return fmt.Errorf("lock the cluster: %w", err)
	}
	printUnlockKey(cfg, next)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("the old key-encryption key file could not be removed; it opens nothing now", "file", path, "err", err)
	}
	return nil
}

func printUnlockKey(cfg Config, kek seal.KEK) {
	fmt.Fprintf(cfg.Out, `This cluster is locked (autolock): its secrets open only with this unlock key.
It is shown once and kept nowhere: store it safely. After a restart each server
waits until you run `+"`wharf server unlock`"+` and give it this key:

    %s

`, kek)
}
