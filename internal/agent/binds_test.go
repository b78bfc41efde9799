package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime"
)

func bind(src string) []api.VolumeMount {
	return []api.VolumeMount{{Type: api.VolumeBind, Source: src, Target: "/host"}}
}

// TestBindPolicyRefusesEscapes: with /srv/data-like roots allowed, every
// hostile bind source (the root, the Docker socket by any spelling, a
// traversal, a symlink escape) is refused, naming the path and the agent
// flag that would allow it; paths under the root are allowed.
func TestBindPolicyRefusesEscapes(t *testing.T) {
	allowed := filepath.Join(t.TempDir(), "allowed")
	if err := os.MkdirAll(filepath.Join(allowed, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	attacks, err := hostile.BindAttacks(allowed)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newBindPolicy("n1", []string{allowed}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attacks {
		err := p.check(bind(a.Source))
		if !errors.Is(err, errRefused) {
			t.Errorf("%s (%s): %v, want a refusal", a.Name, a.Source, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "bind mount of "+a.Source) || !strings.Contains(msg, "node n1") ||
			!(strings.Contains(msg, "--allow-bind /") || strings.Contains(msg, "--allow-docker-socket")) {
			t.Errorf("%s: %q does not name the path, the node and the flag", a.Name, msg)
		}
	}
	for _, ok := range []string{allowed, allowed + "/", allowed + "/app", allowed + "/app/../app", allowed + "/not-yet"} {
		if err := p.check(bind(ok)); err != nil {
			t.Errorf("%s: %v, want it allowed", ok, err)
		}
	}
	if err := p.check([]api.VolumeMount{{Type: api.VolumeNamed, Source: "data", Target: "/data"}}); err != nil {
		t.Errorf("named volume: %v", err)
	}
	want := "bind mount of /etc refused: node n1 allows bind mounts only under " + allowed + "; start its agent with --allow-bind /etc to allow it"
	if err := p.check(bind("/etc")); err == nil || err.Error() != want {
		t.Errorf("refusal of /etc:\n%v\nwant\n%s", err, want)
	}
}

// TestBindPolicyDefaults: an agent started with no --allow-bind allows no
// bind; --allow-docker-socket allows the socket itself, and --allow-bind /
// still not the socket.
func TestBindPolicyDefaults(t *testing.T) {
	none, err := newBindPolicy("n1", nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := none.check(bind(t.TempDir())); !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "allows no bind mounts") {
		t.Errorf("no roots: %v", err)
	}
	all, err := newBindPolicy("n1", []string{"/"}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := all.check(bind("/etc")); err != nil {
		t.Errorf("--allow-bind / refuses /etc: %v", err)
	}
	for _, s := range []string{"/var/run/docker.sock", "/run/docker.sock", "/", "/run"} {
		if err := all.check(bind(s)); !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "--allow-docker-socket") {
			t.Errorf("--allow-bind / and %s: %v, want a refusal naming --allow-docker-socket", s, err)
		}
	}
	sock, err := newBindPolicy("n1", nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sock.check(bind("/var/run/docker.sock")); err != nil {
		t.Errorf("--allow-docker-socket refuses the socket: %v", err)
	}
	if err := sock.check(bind("/etc")); !errors.Is(err, errRefused) {
		t.Errorf("--allow-docker-socket allows /etc: %v", err)
	}
	// The socket --docker-host names is refused too.
	other := filepath.Join(t.TempDir(), "engine.sock")
	custom, err := newBindPolicy("n1", []string{"/"}, false, []string{other})
	if err != nil {
		t.Fatal(err)
	}
	if err := custom.check(bind(other)); !errors.Is(err, errRefused) {
		t.Errorf("the --docker-host socket: %v", err)
	}
	for _, bad := range []string{"relative", filepath.Join(t.TempDir(), "missing")} {
		if _, err := newBindPolicy("n1", []string{bad}, false, nil); err == nil || !strings.Contains(err.Error(), "--allow-bind") {
			t.Errorf("--allow-bind %s: %v", bad, err)
		}
	}
}

// TestHostNetworkNeedsPolicy: a docker container in network mode host is
// refused by the node's policy (never retried) unless its agent allows
// host networking; other modes, and the exec driver, are not refused.
func TestHostNetworkNeedsPolicy(t *testing.T) {
	docker, exec := namedDriver{name: "docker"}, namedDriver{name: "exec"}
	strict, open := &Agent{}, &Agent{cfg: Config{AllowHostNetwork: true}}
	err := strict.checkNetworkMode(docker, "host")
	if !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "--allow-host-network") {
		t.Errorf("host mode on a strict node: %v, want a refusal naming --allow-host-network", err)
	}
	for _, c := range []struct {
		a    *Agent
		drv  runtime.Driver
		mode string
	}{{open, docker, "host"}, {strict, docker, ""}, {strict, docker, "none"}, {strict, exec, "host"}} {
		if err := c.a.checkNetworkMode(c.drv, c.mode); err != nil {
			t.Errorf("%s mode %q (allow %v): %v, want allowed", c.drv.Name(), c.mode, c.a.cfg.AllowHostNetwork, err)
		}
	}
}
