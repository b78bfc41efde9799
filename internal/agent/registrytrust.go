package agent

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// The agent makes its node's Docker Engine trust the server's built-in
// registry: /etc/docker/certs.d/<registry host>/ holds ca.crt (the cluster
// CA, which signed the registry's certificate) and client.cert/client.key
// (the node's certificate, which the registry takes as the node's pull
// identity). The files are rewritten when the certificate is renewed.
// The engine reads the directory at each pull; it ignores it for
// registries on 127.0.0.0/8, which it treats as insecure, and nodes pull
// there with the pull credential that comes with their assignments.

// DefaultDockerCertsDir is where the Docker Engine looks for registry
// certificates.
const DefaultDockerCertsDir = "/etc/docker/certs.d"

// registryHostRE is a registry host as a directory name: host or
// host:port, nothing that reaches out of the certs.d root.
var registryHostRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// registryTrust remembers the host it last wrote for.
type registryTrust struct {
	mu   sync.Mutex
	host string
}

// hasDocker is whether one of the agent's drivers is the Docker Engine.
func (a *Agent) hasDocker() bool {
	for _, d := range a.cfg.Drivers {
		if d.Name() == "docker" {
			return true
		}
	}
	return false
}

// trustRegistry writes the engine's trust of the registry at host (from
// the assignments; "" when the server runs none), once per host and again
// when force (after a renewal). Failures are logged: a node that cannot
// write them still pulls with its pull credential where the engine does
// not verify the registry.
func (a *Agent) trustRegistry(host string, force bool) {
	if host == "" || a.cfg.DockerCertsDir == "" || !a.hasDocker() || loopbackRegistry(host) {
		return
	}
	a.trust.mu.Lock()
	defer a.trust.mu.Unlock()
	if host == a.trust.host && !force {
		return
	}
	if err := writeRegistryTrust(a.cfg.DockerCertsDir, host, a.cfg.DataDir); err != nil {
		a.log.Warn("cannot make the Docker Engine trust the built-in registry", "registry", host, "dir", a.cfg.DockerCertsDir, "err", err)
		return
	}
	a.trust.host = host
	a.log.Debug("the Docker Engine trusts the built-in registry", "registry", host)
}

// loopbackRegistry is whether the engine takes the registry at host for
// an insecure one and reads no certs.d for it: localhost or 127.0.0.0/8
// (::1 too). Writing there would only leave files behind.
func loopbackRegistry(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// writeRegistryTrust writes <root>/<host>/{ca.crt,client.cert,client.key}
// from the agent's data dir, each file replaced atomically and only when
// it changed.
func writeRegistryTrust(root, host, dataDir string) error {
	if !registryHostRE.MatchString(host) {
		return fmt.Errorf("the server named the registry %q, which is not a host[:port]", host)
	}
	dir := filepath.Join(root, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		src, dst string
		mode     os.FileMode
	}{
		{fileCA, "ca.crt", 0o644},
		{fileCert, "client.cert", 0o644},
		{fileKey, "client.key", 0o600},
	} {
		b, err := os.ReadFile(filepath.Join(dataDir, f.src))
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, f.dst)
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := writeFileAtomic(dst, b, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// retrustRegistry rewrites the trust files for the host last written,
// after the node's certificate was renewed.
func (a *Agent) retrustRegistry() {
	a.trust.mu.Lock()
	host := a.trust.host
	a.trust.mu.Unlock()
	a.trustRegistry(host, true)
}
