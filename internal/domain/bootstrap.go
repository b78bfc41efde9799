package domain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// AdminTokenFile is where Bootstrap writes the first admin token's secret,
// in the server's data directory.
const AdminTokenFile = "admin-token"

// Bootstrap makes organization "default" and its owners team when missing
// (at every start: an upgraded cluster gets them), and the first admin
// token if no token exists yet: it stores
// only its hash, writes the secret to <dataDir>/admin-token (mode 0600) and
// returns it with created=true. If tokens exist it returns created=false and
// the secret from that file if the file is present ("" otherwise).
func Bootstrap(ctx context.Context, st *store.Store, dataDir string) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	if err := ensureDefaultOrg(ctx, st); err != nil {
		return "", false, fmt.Errorf("make organization %s: %w", DefaultOrg, err)
	}
	res, err := st.List(ctx, store.KindTokens, store.ListOptions{Limit: 1})
	if err != nil {
		return "", false, err
	}
	if len(res.Items) > 0 {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		return strings.TrimSpace(string(b)), false, nil
	}
	t, secret, err := newToken("admin", api.RoleAdmin)
	if err != nil {
		return "", false, err
	}
	// The file first: a token whose secret nobody has would lock the
	// cluster out, while a file whose token was never stored is replaced
	// by the next Bootstrap.
	if err := writeSecretFile(path, secret); err != nil {
		return "", false, err
	}
	if err := st.Create(ctx, store.KindTokens, &t, tokenEvent(&t, "created", "first admin token created")); err != nil {
		return "", false, fmt.Errorf("store the first admin token: %w", err)
	}
	return secret, true, nil
}

// writeSecretFile writes a secret with mode 0600, atomically.
func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".admin-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
