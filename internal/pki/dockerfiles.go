package pki

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteDockerCertDir writes a Docker client's certificate directory as the
// docker CLI reads it with DOCKER_CERT_PATH: ca.pem (what the endpoint's
// server certificate chains to), cert.pem and key.pem. The directory is
// made 0700 and the files 0600; each file is written whole, then renamed,
// so a docker command running meanwhile reads the old or the new one.
func WriteDockerCertDir(dir string, caPEM, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the certificate directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make the certificate directory private: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"ca.pem", caPEM}, {"cert.pem", certPEM}, {"key.pem", keyPEM}} {
		p := filepath.Join(dir, f.name)
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, f.b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// DockerEnv is the environment that points a docker CLI at the Docker
// endpoint host (host:port) with the certificate directory dir.
func DockerEnv(host, dir string) []string {
	return []string{"DOCKER_HOST=tcp://" + host, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + dir}
}
