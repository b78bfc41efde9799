package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Bind mounts are the node's decision, not the API's: a token that may
// create services may not thereby mount any path of every node. The agent
// allows a bind only under the roots it was started with (--allow-bind),
// and never the Docker socket, nor a directory that holds it, unless it was
// started with --allow-docker-socket. It checks every spec before any
// driver sees it, so the rule holds for every driver that mounts binds.

// DockerSockets are the usual paths of the Docker Engine's socket. The
// agent also refuses the socket its --docker-host names.
var DockerSockets = []string{"/var/run/docker.sock", "/run/docker.sock"}

// errRefused marks a start the node's policy refuses: retrying cannot
// help until the agent runs with other flags, so the executor does not.
var errRefused = errors.New("refused by the node's policy")

// refusal is a start the node's policy refuses; its text says what and
// which agent flag would allow it.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return errRefused }

// bindPolicy is what bind mounts a node allows. Its paths are clean and
// have their symlinks resolved.
type bindPolicy struct {
	node        string
	roots       []string
	allowSocket bool
	sockets     []string
}

// newBindPolicy checks the allowed roots (absolute paths of existing
// directories) and resolves them and the Docker sockets' paths.
func newBindPolicy(node string, roots []string, allowSocket bool, sockets []string) (*bindPolicy, error) {
	p := &bindPolicy{node: node, allowSocket: allowSocket}
	for _, r := range roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("agent: --allow-bind %q: want an absolute path of a directory on this node, such as /srv/data", r)
		}
		res, err := filepath.EvalSymlinks(r)
		if err != nil {
			return nil, fmt.Errorf("agent: --allow-bind %s: %w; create the directory first", r, err)
		}
		if fi, err := os.Stat(res); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("agent: --allow-bind %s: not a directory; allow the directory that holds it", r)
		}
		p.roots = append(p.roots, res)
	}
	for _, s := range append(append([]string(nil), DockerSockets...), sockets...) {
		if s != "" {
			p.sockets = append(p.sockets, resolvePath(s))
		}
	}
	return p, nil
}

// check refuses the first bind mount of mounts that the policy does not
// allow, with an error wrapping errRefused.
func (p *bindPolicy) check(mounts []api.VolumeMount) error {
	for _, m := range mounts {
		if m.Type != api.VolumeBind {
			continue
		}
		if err := p.checkBind(m.Source); err != nil {
			return err
		}
	}
	return nil
}

// checkBind checks one bind source. Both the path as the kernel resolves
// it and its lexically cleaned form (as the engine may pass it on) must
// pass: "/srv/data/link/.." is "/srv/data" to the one and the link's
// target's parent to the other.
func (p *bindPolicy) checkBind(src string) error {
	if !filepath.IsAbs(src) {
		return &refusal{fmt.Sprintf("bind mount of %q refused: a bind source must be an absolute path", src)}
	}
	for _, res := range []string{resolvePath(src), resolvePath(filepath.Clean(src))} {
		if err := p.checkResolved(src, res); err != nil {
			return err
		}
	}
	return nil
}

// checkResolved checks src, which resolves to res.
func (p *bindPolicy) checkResolved(src, res string) error {
	what := "bind mount of " + src
	if res != src {
		what += " (which resolves to " + res + ")"
	}
	for _, s := range p.sockets {
		if res == s || sameFile(res, s) {
			if p.allowSocket {
				return nil // explicitly allowed, wherever the roots are
			}
			return &refusal{fmt.Sprintf("%s refused: it is the Docker socket, which gives root on node %s; start its agent with --allow-docker-socket to allow it",
				what, p.node)}
		}
	}
	if !slices.ContainsFunc(p.roots, func(r string) bool { return under(res, r) }) {
		rule := "allows no bind mounts"
		if len(p.roots) > 0 {
			rule = "allows bind mounts only under " + strings.Join(p.roots, ", ")
		}
		return &refusal{fmt.Sprintf("%s refused: node %s %s; start its agent with --allow-bind %s to allow it", what, p.node, rule, res)}
	}
	for _, s := range p.sockets {
		if under(s, res) && !p.allowSocket {
			return &refusal{fmt.Sprintf("%s refused: it holds the Docker socket %s, which gives root on node %s; bind a directory that does not hold it, or start its agent with --allow-docker-socket to allow it",
				what, s, p.node)}
		}
	}
	return nil
}

// resolvePath is p with every symlink resolved, as the kernel would
// resolve it ("link/.." is the parent of the link's target). When p does
// not exist, it is its deepest existing ancestor, resolved, joined with
// the rest of p cleaned.
func resolvePath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	c := filepath.Clean(p)
	rest := ""
	for dir := c; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		if dir == filepath.Dir(dir) {
			return c
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// under reports whether path p is dir or inside it; both are clean.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// sameFile reports whether a and b are the same existing file (a hard
// link to the socket is the socket).
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// checkNetworkMode refuses a docker container in network mode host unless
// the agent was started with --allow-host-network: on the node's network
// stack it could bind any port (a router's among them) and reach every
// listener on the node's loopback. The exec driver's processes run on the
// host's network in every mode but none, so it needs no such rule.
func (a *Agent) checkNetworkMode(drv runtime.Driver, mode string) error {
	if mode != "host" || a.cfg.AllowHostNetwork || drv == nil || drv.Name() != "docker" {
		return nil
	}
	return &refusal{msg: "network mode host is not allowed on this node: its agent runs without --allow-host-network"}
}
