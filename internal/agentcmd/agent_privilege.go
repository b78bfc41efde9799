package agentcmd

import (
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime/exec"
)

// What a node lets its workloads do is the node's decision, made by whoever
// starts its agent, never by an API token: which host paths containers may
// bind-mount, whether they may have the Docker socket, which user the exec
// driver runs workloads as.

// privilegeFile is the agent config file's part about privileges.
type privilegeFile struct {
	AllowBind         []string `yaml:"allow_bind"`
	AllowDockerSocket bool     `yaml:"allow_docker_socket"`
	ExecUser          string   `yaml:"exec_user"`
	ExecAsRoot        bool     `yaml:"exec_as_root"`
	AllowBuilds       bool     `yaml:"allow_builds"`
	AllowHostNetwork  bool     `yaml:"allow_host_network"`
}

// privilegeFlags are the agent's flags about privileges.
type privilegeFlags struct {
	allowBind         []string
	allowDockerSocket bool
	execUser          string
	execAsRoot        bool
	allowBuilds       bool
	allowHostNetwork  bool
}

// defaultExecUser runs exec workloads when the agent runs as root.
const defaultExecUser = "nobody"

func addPrivilegeFlags(f *pflag.FlagSet, p *privilegeFlags) {
	f.StringArrayVar(&p.allowBind, "allow-bind", nil, "let containers bind-mount paths under this directory of the node; repeatable (default: no bind mounts)")
	f.BoolVar(&p.allowDockerSocket, "allow-docker-socket", false, "let containers bind-mount the Docker socket, which gives them root on the node")
	f.StringVar(&p.execUser, "exec-user", "", "user the exec driver runs workloads as (default "+defaultExecUser+" when the agent runs as root; needs root)")
	f.BoolVar(&p.execAsRoot, "exec-as-root", false, "run exec workloads as the agent's own user, root included, instead of --exec-user")
	f.BoolVar(&p.allowHostNetwork, "allow-host-network", false, "let docker containers run in network mode host: on the node's own network stack, where they can bind any port and reach every local listener")
	f.BoolVar(&p.allowBuilds, "allow-builds", false, "build images the server sends (stack deploy without a local Docker Engine) with this node's engine: their Dockerfiles' RUN steps run here")
}

// resolve merges the config file's settings under the flags and puts the
// bind policy into cfg.
func (p *privilegeFlags) resolve(f *pflag.FlagSet, file privilegeFile, cfg *agent.Config, dockerHost string) error {
	if !f.Changed("allow-bind") {
		p.allowBind = file.AllowBind
	}
	if !f.Changed("allow-docker-socket") {
		p.allowDockerSocket = file.AllowDockerSocket
	}
	if !f.Changed("exec-user") && p.execUser == "" {
		p.execUser = file.ExecUser
	}
	if !f.Changed("exec-as-root") {
		p.execAsRoot = file.ExecAsRoot
	}
	if !f.Changed("allow-builds") {
		p.allowBuilds = file.AllowBuilds
	}
	if !f.Changed("allow-host-network") {
		p.allowHostNetwork = file.AllowHostNetwork
	}
	if p.execAsRoot && p.execUser != "" {
		return fmt.Errorf("--exec-user %s and --exec-as-root contradict each other: pass one", p.execUser)
	}
	cfg.AllowBind, cfg.AllowDockerSocket, cfg.AllowBuilds = p.allowBind, p.allowDockerSocket, p.allowBuilds
	cfg.AllowHostNetwork = p.allowHostNetwork
	if host := dockerSocketOf(dockerHost); host != "" {
		cfg.DockerSockets = append(cfg.DockerSockets, host)
	}
	return nil
}

// dockerSocketOf is the path of a unix:// Docker host ($DOCKER_HOST when
// host is ""), or "".
func dockerSocketOf(host string) string {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return ""
	}
	return u.Path
}

// execOptions are the exec driver's options: workloads run as --exec-user
// (nobody by default when the agent is root), or as the agent itself with
// --exec-as-root or when it is not root.
func (p *privilegeFlags) execOptions(dataDir string) (exec.Options, error) {
	name := p.execUser
	root := os.Geteuid() == 0
	switch {
	case p.execAsRoot:
		return exec.Options{}, nil
	case name == "" && !root:
		return exec.Options{}, nil // the agent's own user: it cannot switch
	case name == "":
		name = defaultExecUser
	case !root:
		return exec.Options{}, fmt.Errorf("--exec-user %s: the agent must run as root to run workloads as another user; leave --exec-user out to run them as the agent's own user", name)
	}
	u, err := exec.LookupUser(name)
	if err != nil {
		return exec.Options{}, fmt.Errorf("--exec-user: %w; or start the agent with --exec-as-root", err)
	}
	// The runs' working directories are below the data dir: let the user
	// pass through it (not list it; what the agent keeps there is 0600).
	if err := os.MkdirAll(dataDir, 0o711); err != nil { // parents it makes too
		return exec.Options{}, fmt.Errorf("agent data dir: %w", err)
	}
	if err := os.Chmod(dataDir, 0o711); err != nil {
		return exec.Options{}, fmt.Errorf("agent data dir: %w", err)
	}
	return exec.Options{User: u}, nil
}
