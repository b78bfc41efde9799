package hostile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// A token that may create services asks a node for what would make it root
// there: a bind mount of the host's root, of the Docker socket under every
// spelling, of a path that climbs out of an allowed directory, of a
// symlink in an allowed directory that points out of it; and, with the
// exec driver, a workload that looks at which user it runs as.

// BindAttack is one hostile bind mount source, with what it aims at.
type BindAttack struct {
	Name   string // what the attack tries, for test names
	Source string // the bind source the attacker asks for
}

// BindAttacks returns the bind sources an attacker asks a node for, given
// allowed, a directory the node does allow. It plants the symlinks a
// workload that may write under allowed could plant there: escape -> /
// and sock -> /var/run/docker.sock.
func BindAttacks(allowed string) ([]BindAttack, error) {
	for name, target := range map[string]string{"escape": "/", "sock": "/var/run/docker.sock"} {
		link := filepath.Join(allowed, name)
		if err := os.Symlink(target, link); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("hostile: plant %s: %w", link, err)
		}
	}
	up := strings.Repeat("../", strings.Count(filepath.Clean(allowed), "/"))
	return []BindAttack{
		{"root", "/"},
		{"etc", "/etc"},
		{"docker socket", "/var/run/docker.sock"},
		{"docker socket under /run", "/run/docker.sock"},
		{"docker socket with a trailing slash", "/var/run/docker.sock/"},
		{"docker socket through ..", "/var/run/../run/./docker.sock"},
		{"docker socket with doubled slashes", "//var//run//docker.sock"},
		{"directory of the docker socket", "/var/run"},
		{"traversal out of the allowed dir", filepath.Join(allowed) + "/" + up + "etc"},
		{"symlink escape", filepath.Join(allowed, "escape")},
		{"symlink escape then down", filepath.Join(allowed, "escape") + "/etc"},
		{"symlink escape then up", filepath.Join(allowed, "escape") + "/.."},
		{"symlink to the docker socket", filepath.Join(allowed, "sock")},
	}, nil
}

// RequestBind asks the cluster behind c for a service named name that
// bind-mounts source at /host (read-write), run by driver with image or
// command, restarted whatever happens (autorestart ALWAYS): what any token
// with write access may ask.
func RequestBind(ctx context.Context, c *client.Client, name, driver, image string, command []string, source string) (api.Service, error) {
	return c.CreateService(ctx, name, api.ServiceSpec{
		Driver: driver, Image: image, Command: command, Replicas: 1, Autorestart: api.PolicyAlways,
		// A test's image is only on the node: no registry to pin it from.
		PullPolicy: pullPolicyOf(image),
		Volumes:    []api.VolumeMount{{Type: api.VolumeBind, Source: source, Target: "/host"}},
	})
}

// WhoAmICommand is an exec workload that prints the user it runs as and
// whether it may gain privileges ("Uid:" and "NoNewPrivs:" of its
// /proc/self/status), then tries to read /etc/shadow, which only root can,
// and stays up so that a test can exec into it.
func WhoAmICommand() []string {
	return []string{"/bin/sh", "-c",
		`grep -E '^(Uid|NoNewPrivs):' /proc/self/status; if cat /etc/shadow >/dev/null 2>&1; then echo shadow=readable; else echo shadow=refused; fi; exec sleep 300`}
}

// WhoAmI is what WhoAmICommand printed.
type WhoAmI struct {
	UID          int  // the real UID
	NoNewPrivs   bool // PR_SET_NO_NEW_PRIVS is set
	ShadowRead   bool // it could read /etc/shadow
	ShadowTested bool // the shadow line was printed
}

// ParseWhoAmI reads WhoAmICommand's output.
func ParseWhoAmI(out string) (WhoAmI, error) {
	var w WhoAmI
	seenUID := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "Uid:":
			uid, err := strconv.Atoi(f[1])
			if err != nil {
				return w, fmt.Errorf("hostile: bad Uid line %q", line)
			}
			w.UID, seenUID = uid, true
		case len(f) == 2 && f[0] == "NoNewPrivs:":
			w.NoNewPrivs = f[1] == "1"
		case len(f) == 1 && strings.HasPrefix(f[0], "shadow="):
			w.ShadowTested, w.ShadowRead = true, f[0] == "shadow=readable"
		}
	}
	if !seenUID || !w.ShadowTested {
		return w, fmt.Errorf("hostile: the workload printed no Uid or shadow line: %q", out)
	}
	return w, nil
}

// pullPolicyOf is never for an image (test images are loaded on the
// nodes, in no registry), "" for a command.
func pullPolicyOf(image string) string {
	if image == "" {
		return ""
	}
	return api.PullNever
}
