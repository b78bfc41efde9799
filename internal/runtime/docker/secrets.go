package docker

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// DefaultSecretsDir is where the driver keeps containers' secret files,
// one directory per container: on a tmpfs, so that they never reach the
// node's disk.
const DefaultSecretsDir = "/run/wharf/secrets"

// secretsTarget is the directory secrets are mounted in, in the container.
const secretsTarget = "/run/secrets"

// tmpfsOptions are the options of the tmpfs the driver mounts on its
// secrets directory when it is not on one already.
const tmpfsOptions = "mode=0700,size=64m"

// Secret files: each container's are written to <secrets dir>/<container
// ID>/<target>, owned by root with the mode the service asked (0400 by
// default: root in the container may read it; an image that runs as
// another user needs mode 0444), in a directory only root may enter, and
// bind-mounted read-only at /run/secrets/<target>. They are written when a
// container is created or started again, and removed with the container
// (Remove). The value is never in the container's configuration or labels
// (the spec hash holds its version only).

// prepareSecretsDir makes dir (0700) and, when it is not on a tmpfs,
// mounts one there; if that fails (no privilege), it warns and uses dir
// as it is.
func prepareSecretsDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("docker driver: secrets directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("docker driver: secrets directory %s: %w", dir, err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err == nil && fs.Type == unix.TMPFS_MAGIC {
		return nil
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpfsOptions); err != nil {
		log.Warn("the secrets directory is not on a tmpfs and one cannot be mounted there: secret files stay on this node's disk while their containers exist",
			"dir", dir, "err", err)
		return nil
	}
	log.Info("mounted a tmpfs on the secrets directory", "dir", dir)
	return nil
}

// secretsDirOf is container id's secrets directory.
func (d *Driver) secretsDirOf(id string) (string, error) {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return "", fmt.Errorf("docker driver: container ID %q cannot name a directory", id)
	}
	return filepath.Join(d.secretsDir, id), nil
}

// writeSecrets writes spec's secret files afresh and returns their
// mounts (none when spec has no secrets; a directory left from before is
// removed then).
func (d *Driver) writeSecrets(spec runtime.Spec) ([]mount.Mount, error) {
	dir, err := d.secretsDirOf(spec.ID)
	if err != nil {
		if len(spec.Secrets) == 0 {
			return nil, nil // it can have none from before either
		}
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("docker driver: start %s: remove old secret files: %w", spec.ID, err)
	}
	if len(spec.Secrets) == 0 {
		return nil, nil
	}
	d.secretsOnce.Do(func() { d.secretsErr = prepareSecretsDir(d.secretsDir, d.log) })
	if d.secretsErr != nil {
		return nil, d.secretsErr
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("docker driver: start %s: secrets directory: %w", spec.ID, err)
	}
	out := make([]mount.Mount, 0, len(spec.Secrets))
	for _, f := range spec.Secrets {
		if err := runtime.CheckSecretFile(f); err != nil {
			return nil, fmt.Errorf("docker driver: start %s: %w", spec.ID, err)
		}
		p := filepath.Join(dir, f.Target)
		if err := writeSecretFile(p, f); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("docker driver: start %s: secret file %s: %w", spec.ID, f.Target, err)
		}
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: p, Target: path.Join(secretsTarget, f.Target), ReadOnly: true})
	}
	return out, nil
}

// writeSecretFile creates p with f's value and mode, never following or
// replacing anything there.
func writeSecretFile(p string, f api.SecretFile) error {
	fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(f.Data)
	if err == nil {
		err = fh.Chmod(os.FileMode(f.Mode & 0o777))
	}
	return errors.Join(err, fh.Close())
}

// removeSecrets removes container id's secret files.
func (d *Driver) removeSecrets(id string) error {
	dir, err := d.secretsDirOf(id)
	if err != nil {
		return nil // such a container was never given any
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("docker driver: remove %s: its secret files: %w", id, err)
	}
	return nil
}
