package agentcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/promtext"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// defaultAgentConfig is read when it exists and --config is not given; the
// install script writes it.
const defaultAgentConfig = "/etc/wharf/agent.yaml"

// agentFile is the agent's config file (YAML). Flags beat it.
type agentFile struct {
	Server string `yaml:"server"`
	// Token is the join token written by older installs; TokenFile
	// names a file holding it (the safer way). Both are forgotten once
	// the agent has joined.
	Token      string            `yaml:"token"`
	TokenFile  string            `yaml:"token_file"`
	DataDir    string            `yaml:"data_dir"`
	Labels     map[string]string `yaml:"labels"`
	Name       string            `yaml:"name"`
	EnableExec bool              `yaml:"enable_exec"`
	// Overlay and OverlayAddress are --overlay and --overlay-address.
	Overlay        bool   `yaml:"overlay"`
	OverlayAddress string `yaml:"overlay_address"`
	// privilegeFile: allow_bind, allow_docker_socket, exec_user, exec_as_root.
	privilegeFile `yaml:",inline"`
}

// agentFlags are the agent command's own settings.
type agentFlags struct {
	cfg    agent.Config
	config string
	// configPath is the config file read, "" when none.
	configPath string
	labels     []string
	enableExec bool
	driver     string
	dockerHost string
	logLevel   string
	priv       privilegeFlags
	router     agentRouterFlags
}

func newAgentCmd() *cobra.Command {
	var o agentFlags
	cmd := &cobra.Command{
		Use:   "agent --server URL --token-file PATH",
		Short: "Run the node agent: join the cluster, hold one connection to the server, run containers",
		Long: "Run the node agent. Settings come from flags, then from --config (default " + defaultAgentConfig +
			" when it exists: YAML with server, token_file, data_dir, labels, name, enable_exec,\n" +
			"allow_bind, allow_docker_socket, exec_user, exec_as_root).\n\n" +
			"The join token is needed only to join. Give it in a file (--token-file, or token_file in the\n" +
			"config file) or in the " + joinTokenEnv + " environment variable; once joined, the agent deletes\n" +
			"the file (and drops a token: line from the config file). --token works too, but a command\n" +
			"line is readable by every local user.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(o.logLevel)
			if err != nil {
				return err
			}
			o.cfg.Logger = log
			if err := o.resolve(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("token") {
				log.Warn("--token puts the join token in the agent's command line, which every local user can read in /proc/PID/cmdline; " +
					"pass it in a file (--token-file, or token_file in the config file) or in the " + joinTokenEnv + " environment variable instead")
			}
			drivers, err := o.drivers(cmd.Context(), log)
			if err != nil {
				return err
			}
			o.cfg.Drivers = drivers
			reg := promtext.NewRegistry()
			o.cfg.Router.Metrics = reg
			if err := serveMetrics(cmd.Context(), o.router.metricsAddr, reg, log); err != nil {
				return err
			}
			a, err := agent.New(o.cfg)
			if err != nil {
				return err
			}
			go dropBinaryPagesFrom(cmd.Context(), log, startupPagesAfter)
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "agent config file, YAML (default "+defaultAgentConfig+" if it exists)")
	f.StringVar(&o.cfg.ServerURL, "server", "", "URL of the Wharf server's API, e.g. https://wharf.example.com:7443")
	f.StringVar(&o.cfg.JoinToken, "token", "", "join token (from 'wharf node join-token'); needed only the first time. Visible to every local user: prefer --token-file or $"+joinTokenEnv)
	f.StringVar(&o.cfg.JoinTokenFile, "token-file", "", "file holding the join token (mode 0600); deleted once the agent has joined")
	f.StringVar(&o.cfg.DataDir, "data-dir", defaultDataDir("agent"), "where the agent keeps its identity and its containers' state")
	f.StringSliceVar(&o.labels, "label", nil, "node label k=v; repeatable")
	f.StringVar(&o.cfg.Hostname, "name", "", "node name (default: the host name)")
	f.BoolVar(&o.enableExec, "enable-exec", false, "offer the exec driver: run services' commands as plain processes (as --exec-user when the agent is root)")
	f.StringVar(&o.driver, "driver", "", "run only this driver: fake (in-memory containers, for hollow nodes); default: docker when an engine answers, plus exec with --enable-exec")
	f.StringVar(&o.dockerHost, "docker-host", "", "Docker Engine address (default: $DOCKER_HOST or the local socket)")
	f.StringVar(&o.cfg.DockerCertsDir, "docker-certs-dir", agent.DefaultDockerCertsDir, "the Docker Engine's registry certificates directory, where the agent makes the engine trust the server's built-in registry (the cluster CA and the node certificate); \"\" writes nothing")
	f.BoolVar(&o.cfg.Overlay, "overlay", false, "run the organization's overlay networks on this node: VXLAN devices and bridges, an address per container, a resolver for their names (needs root)")
	f.StringVar(&o.cfg.OverlayAddress, "overlay-address", "", "this node's address for overlay (VXLAN, UDP 4789) traffic from other nodes (default: the local address of the agent's connection to the server)")
	f.StringVar(&o.cfg.AdvertiseAddress, "advertise-address", "", "this node's address where routers and other nodes reach its published ports (default: the local address of the agent's connection to the server)")
	f.BoolVar(&o.cfg.StopContainersOnExit, "stop-containers-on-exit", false, "stop every container when the agent exits (default: they keep running)")
	f.DurationVar(&o.cfg.HeartbeatInterval, "heartbeat", agent.DefaultHeartbeat, "heartbeat interval; the server's --heartbeat-grace and --node-loss-grace defaults are designed for 1s")
	f.StringVar(&o.cfg.WitnessAddr, "witness-addr", agent.DefaultWitnessAddr, "where other nodes' agents ask this one, over mutual TLS with node certificates, how long ago it heard the server (before they stop their containers when cut off); \"\" for none")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	addPrivilegeFlags(f, &o.priv)
	addAgentRouterFlags(f, &o.cfg.Router, &o.router)
	return cmd
}

// resolve merges the config file under the flags and checks the result.
func (o *agentFlags) resolve(cmd *cobra.Command) error {
	file, path, err := readAgentFile(o.config)
	if err != nil {
		return err
	}
	o.configPath = path
	f := cmd.Flags()
	pick := func(flag string, dst *string, v string) {
		if !f.Changed(flag) && v != "" {
			*dst = v
		}
	}
	pick("server", &o.cfg.ServerURL, file.Server)
	o.resolveToken(f, file)
	pick("data-dir", &o.cfg.DataDir, file.DataDir)
	pick("name", &o.cfg.Hostname, file.Name)
	if !f.Changed("enable-exec") {
		o.enableExec = o.enableExec || file.EnableExec
	}
	if !f.Changed("overlay") {
		o.cfg.Overlay = o.cfg.Overlay || file.Overlay
	}
	pick("overlay-address", &o.cfg.OverlayAddress, file.OverlayAddress)
	if o.cfg.OverlayAddress != "" {
		if ip, err := netip.ParseAddr(o.cfg.OverlayAddress); err != nil || !ip.Is4() {
			return fmt.Errorf("--overlay-address %q: want this node's IPv4 address", o.cfg.OverlayAddress)
		}
	}
	l, err := parseLabels(o.labels)
	if err != nil {
		return fmt.Errorf("--label: %w", err)
	}
	labels := maps.Clone(file.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, l)
	o.cfg.Labels = labels
	if err := o.priv.resolve(f, file.privilegeFile, &o.cfg, o.dockerHost); err != nil {
		return err
	}
	if err := o.router.resolve(&o.cfg.Router); err != nil {
		return err
	}
	if o.cfg.ServerURL == "" {
		return errors.New("no server: pass --server URL or set server in the config file (--config)")
	}
	return nil
}

// readAgentFile reads path, or defaultAgentConfig when path is "" and that
// file exists. It returns the path it read ("" when none).
func readAgentFile(path string) (agentFile, string, error) {
	var file agentFile
	if path == "" {
		if _, err := os.Stat(defaultAgentConfig); err != nil {
			return file, "", nil
		}
		path = defaultAgentConfig
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return file, "", fmt.Errorf("agent config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return file, "", fmt.Errorf("agent config %s: %w", path, err)
	}
	return file, path, nil
}

// drivers builds the drivers the agent offers.
func (o *agentFlags) drivers(ctx context.Context, log *slog.Logger) ([]runtime.Driver, error) {
	switch o.driver {
	case "fake":
		return []runtime.Driver{fake.New()}, nil
	case "":
	default:
		return nil, fmt.Errorf("--driver %q: the only driver you can pick alone is fake; leave --driver out to use docker and (with --enable-exec) exec", o.driver)
	}
	var out []runtime.Driver
	d, dockerErr := dockerDriver(ctx, o.dockerHost, log.With("component", "docker"))
	if dockerErr == nil {
		out = append(out, d)
	} else {
		log.Info("no docker driver", "err", dockerErr)
	}
	if o.enableExec {
		eo, err := o.priv.execOptions(o.cfg.DataDir)
		if err != nil {
			return nil, err
		}
		e, err := exec.NewWithOptions(filepath.Join(o.cfg.DataDir, "exec"), eo)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no driver to run containers: docker: %v; pass --enable-exec (or enable_exec: true in the config file) to run services' commands as plain processes, --docker-host to point at a Docker Engine, or --driver fake for a hollow node", dockerErr)
	}
	return out, nil
}
