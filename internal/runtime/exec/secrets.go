package exec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// secretsDir is the directory of a run's secret files, dir/<id>/secrets:
// mode 0500, owned by the workload's user (the driver's User, else the
// agent's own), each file owned by that user with the mode the service
// asked for (0400 by default). The workload finds it in
// WHARF_SECRETS_DIR. It lives on the agent's data directory's file system
// (the exec driver writes nowhere else), is rewritten at every start, and
// is deleted when the run exits and when the container is removed.
const secretsDir = "secrets"

// writeSecrets replaces the secret files in run directory dir with files
// and returns their directory ("" when there are none).
func (d *Driver) writeSecrets(dir string, files []api.SecretFile) (string, error) {
	sd := filepath.Join(dir, secretsDir)
	if err := removeSecrets(dir); err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", nil
	}
	if err := os.Mkdir(sd, 0o700); err != nil {
		return "", fmt.Errorf("secrets directory: %w", err)
	}
	for _, f := range files {
		if err := runtime.CheckSecretFile(f); err != nil {
			return "", err
		}
		if err := d.writeSecretFile(filepath.Join(sd, f.Target), f); err != nil {
			return "", fmt.Errorf("secret file %s: %w", f.Target, err)
		}
	}
	if d.user != nil {
		if err := os.Chown(sd, int(d.user.UID), int(d.user.GID)); err != nil {
			return "", fmt.Errorf("give %s its secrets directory: %w", d.user, err)
		}
	}
	if err := os.Chmod(sd, 0o500); err != nil {
		return "", fmt.Errorf("secrets directory: %w", err)
	}
	return sd, nil
}

// writeSecretFile creates path (never following or replacing anything
// there), owned by the workload's user, with f's mode.
func (d *Driver) writeSecretFile(path string, f api.SecretFile) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(f.Data)
	if err == nil && d.user != nil {
		err = fh.Chown(int(d.user.UID), int(d.user.GID))
	}
	if err == nil {
		err = fh.Chmod(os.FileMode(f.Mode & 0o777))
	}
	return errors.Join(err, fh.Close())
}

// removeSecrets deletes run directory dir's secret files, if any.
func removeSecrets(dir string) error {
	sd := filepath.Join(dir, secretsDir)
	if err := os.Chmod(sd, 0o700); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("secrets directory: %w", err)
	}
	if err := os.RemoveAll(sd); err != nil {
		return fmt.Errorf("remove the secrets directory: %w", err)
	}
	return nil
}
