package multihost

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// This file holds what the overlay network's tests need beyond the
// cluster: more agents (of another organization too), commands run in
// containers, and the CLI as another user.

// AddAgent starts one more agent container joined with token, with the
// cluster's agent options, and returns its name. The node is named name.
func (c *Cluster) AddAgent(o Options, name, token string) string {
	c.t.Helper()
	full := c.Network + "-" + name
	c.Agents = append(c.Agents, full)
	c.docker(slices.Concat([]string{"run", "-d", "--name", full, "--hostname", full, "--network", c.Network,
		"--label", "wharf-mh=" + c.Network}, o.AgentDocker, []string{c.build.Image,
		"/nodeinit", "--", "/wharf", "agent", "--server", "https://" + c.Server + ":7443", "--token", token,
		"--enable-exec", "--name", name, "--data-dir", "/var/lib/wharf", "--heartbeat", "1s"}, o.AgentArgs)...)
	return full
}

// Exec runs a command in a Wharf container through the API (`wharf
// container exec`) and returns its output.
func (c *Cluster) Exec(container string, cmd ...string) (string, error) {
	return c.Try(append([]string{"container", "exec", container, "--"}, cmd...)...)
}

// TryAs runs one CLI command with another config dir and token (a user
// other than the admin), stdin given.
func (c *Cluster) TryAs(configDir, token, stdin string, args ...string) (string, error) {
	var env []string
	for _, kv := range c.environ() {
		if !strings.HasPrefix(kv, "WHARF_TOKEN=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_CONFIG_HOME="+configDir)
	if token != "" {
		env = append(env, "WHARF_TOKEN="+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.build.Wharf, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("wharf %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// UserDir is a fresh CLI config dir for another user.
func (c *Cluster) UserDir(name string) string {
	dir := filepath.Join(c.dir, "user-"+name)
	_ = os.MkdirAll(dir, 0o700)
	return dir
}

// Addresses maps each container of a service to its first overlay
// address, from `service ps --format json`.
func (c *Cluster) Addresses(service string) (map[string]string, error) {
	var cts []struct {
		Name string `json:"name"`
		Spec struct {
			Networks []struct {
				IP string `json:"ip"`
			} `json:"networks"`
		} `json:"spec"`
	}
	if err := c.list(&cts, "service", "ps", service); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ct := range cts {
		if len(ct.Spec.Networks) > 0 {
			out[ct.Name] = ct.Spec.Networks[0].IP
		}
	}
	return out, nil
}
