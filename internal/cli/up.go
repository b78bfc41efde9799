package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// upOptions are the settings of a local cluster.
type upOptions struct {
	dataDir   string
	nodes     int
	port      int
	agentPort int
	detach    bool
	// overlay gives the agents --overlay: one network for the cluster's
	// containers, on a bridge they share (needs root).
	overlay bool
	// routerPort and routerTLSPort are where node-1's router listens, on
	// 127.0.0.1; 0 runs no router.
	routerPort, routerTLSPort int
	// dockerPort is the Docker endpoint's port on 127.0.0.1 (0: none);
	// when it is taken, up takes the next free one (dockerAddr says which).
	dockerPort int
	dockerAddr string
	// background is set on the process that --detach starts.
	background bool
}

func newUpCmd() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole Wharf cluster on this machine: a server on loopback and N agents",
		Long: `Run a whole Wharf cluster on this machine: the server on 127.0.0.1 and N agents
with the exec driver, as child processes. The client config is written so that
the next wharf command talks to this cluster. Ctrl-C (or ` + "`wharf down`" + `) stops
everything; running it again resumes the same cluster from --data-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.nodes < 1 || o.nodes > 64 {
				return fmt.Errorf("--nodes %d: want 1 to 64", o.nodes)
			}
			if o.detach {
				return upDetached(cmd.Context(), cmd.OutOrStdout(), o)
			}
			return runUp(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir("up"), "where the cluster keeps everything")
	f.IntVar(&o.nodes, "nodes", 3, "number of agents (nodes)")
	f.IntVar(&o.port, "port", 7443, "API port on 127.0.0.1")
	f.IntVar(&o.agentPort, "agent-port", 7444, "agent gateway port on 127.0.0.1")
	f.BoolVar(&o.overlay, "overlay", false, "give the containers the overlay network: an address each on one bridge the nodes share, and their names in DNS (needs root; the exec driver's workloads then listen in network namespaces of their own, reached at their addresses)")
	f.IntVar(&o.routerPort, "router-port", 8080, "node-1 runs the router: its HTTP port on 127.0.0.1 (0: no router)")
	f.IntVar(&o.routerTLSPort, "router-tls-port", 8443, "the router's HTTPS port on 127.0.0.1")
	f.IntVar(&o.dockerPort, "docker-port", 2376, "the Docker endpoint's port on 127.0.0.1, for eval \"$(wharf docker-env)\" (the next free one when it is taken; 0: none)")
	f.BoolVarP(&o.detach, "detach", "d", false, "run in the background; return once the cluster is up (stop it with 'wharf down')")
	f.BoolVar(&o.background, "background", false, "")
	_ = f.MarkHidden("background") // set by --detach for the process it starts
	return cmd
}

func newDownCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster that `wharf up` runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("data-dir") {
				if cfg, err := LoadConfig(); err == nil && cfg.UpDataDir != "" {
					dataDir = cfg.UpDataDir
				}
			}
			pid, err := readPID(filepath.Join(dataDir, "up.pid"))
			if err != nil || !alive(pid) {
				return fmt.Errorf("no cluster is running from %s", dataDir)
			}
			if err := signalTerm(pid); err != nil {
				return err
			}
			deadline := time.Now().Add(60 * time.Second)
			for alive(pid) {
				if time.Now().After(deadline) {
					return fmt.Errorf("wharf up (pid %d) did not stop within 60s", pid)
				}
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "cluster stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir("up"), "the data dir 'wharf up' used; without it, the one the client config remembers from the last 'wharf up', else this")
	return cmd
}

// runUp runs the cluster in the foreground until ctx ends.
func runUp(ctx context.Context, out io.Writer, o upOptions) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	pidFile := filepath.Join(o.dataDir, "up.pid")
	if pid, err := readPID(pidFile); err == nil && pid != os.Getpid() && alive(pid) {
		return fmt.Errorf("a cluster is already running from %s (pid %d); stop it with `%s`", o.dataDir, pid, downCommand(o.dataDir))
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer func() { _ = os.Remove(pidFile) }()
	readyFile := filepath.Join(o.dataDir, "up.ready")
	_ = os.Remove(readyFile)
	defer func() { _ = os.Remove(readyFile) }()

	sup, err := newSupervisor(o.dataDir, out)
	if err != nil {
		return err
	}
	defer sup.stopAll()

	apiURL := fmt.Sprintf("https://127.0.0.1:%d", o.port)
	serverDir := filepath.Join(o.dataDir, "server")
	serverArgs := []string{"server", "--data-dir", serverDir,
		"--addr", fmt.Sprintf("127.0.0.1:%d", o.port), "--agent-addr", fmt.Sprintf("127.0.0.1:%d", o.agentPort),
		"--advertise", "127.0.0.1"}
	if o.dockerPort > 0 {
		o.dockerAddr = freeLoopbackAddr(o.dockerPort)
		serverArgs = append(serverArgs, "--docker-addr", o.dockerAddr)
	}
	if err := sup.start(ctx, "server", serverArgs...); err != nil {
		return err
	}
	c, cfg, err := waitServer(ctx, sup, apiURL, serverDir)
	if err != nil {
		return err
	}
	userName, pwFile, err := ensureUpUser(ctx, c, serverDir)
	if err != nil {
		return err
	}
	if err := startAgents(ctx, sup, c, apiURL, o); err != nil {
		return err
	}
	if err := waitNodes(ctx, c, o.nodes); err != nil {
		return err
	}
	if abs, err := filepath.Abs(o.dataDir); err == nil {
		cfg.UpDataDir = abs // for wharf down
	}
	cfgPath, err := SaveConfig(cfg)
	if err != nil {
		return fmt.Errorf("write client config: %w", err)
	}
	printUpSummary(out, apiURL, cfg, cfgPath, o)
	say(out, "You are user %s, an owner of organization default; your password is in %s.\nLog in elsewhere with:\n  wharf login --addr %s --cacert %s --user %s --password-stdin < %s\n\n",
		userName, pwFile, apiURL, cfg.CACert, userName, pwFile)
	if err := os.WriteFile(readyFile, []byte(apiURL), 0o600); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\nstopping the cluster...")
			return nil
		case d := <-sup.died:
			if d.name == "server" {
				say(out, "\n%v; stopping the cluster\n", d.err)
				return d.err
			}
			// A lost agent is what a cluster is for: its node goes
			// Unreachable and the rest keeps running.
			say(out, "%v; the other nodes keep running\n", d.err)
		}
	}
}

// startAgents starts the agents. Those that have not joined yet get one
// join token, good for just them and for ten minutes, in a 0600 file that
// each deletes once joined: never on a command line, where every local user
// could read it.
func startAgents(ctx context.Context, sup *supervisor, c *client.Client, apiURL string, o upOptions) error {
	var fresh []string
	for i := 1; i <= o.nodes; i++ {
		name := fmt.Sprintf("node-%d", i)
		if _, err := os.Stat(filepath.Join(o.dataDir, name, "node.json")); err != nil {
			fresh = append(fresh, name)
		}
	}
	var token string
	if len(fresh) > 0 {
		jt, err := c.CreateJoinToken(ctx, api.JoinTokenRequest{TTL: "10m", MaxUses: int64(len(fresh))})
		if err != nil {
			return fmt.Errorf("make a join token: %w", err)
		}
		token = jt.Token
	}
	for i := 1; i <= o.nodes; i++ {
		name := fmt.Sprintf("node-%d", i)
		args := []string{"agent", "--server", apiURL, "--data-dir", filepath.Join(o.dataDir, name), "--name", name,
			"--enable-exec", "--stop-containers-on-exit", "--witness-addr", "127.0.0.1:0"}
		if o.overlay {
			args = append(args, "--overlay")
		}
		if i == 1 && o.routerPort > 0 {
			args = append(args, "--label", api.RouterLabel+"=true",
				"--router-http-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.routerPort)),
				"--router-https-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.routerTLSPort)))
		}
		if token != "" && slices.Contains(fresh, name) {
			tf := filepath.Join(o.dataDir, name+".join-token")
			if err := os.WriteFile(tf, []byte(token+"\n"), 0o600); err != nil {
				return fmt.Errorf("write the join token for %s: %w", name, err)
			}
			args = append(args, "--token-file", tf)
		}
		if err := sup.start(ctx, name, append(args, upExecUser()...)...); err != nil {
			return err
		}
	}
	return nil
}

// waitServer waits until the server answers /readyz, then returns a client
// with the admin token and the config that reaches it.
func waitServer(ctx context.Context, sup *supervisor, apiURL, serverDir string) (*client.Client, Config, error) {
	caPath := filepath.Join(serverDir, "ca.crt")
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return nil, Config{}, err
		}
		select {
		case d := <-sup.died:
			return nil, Config{}, fmt.Errorf("%w\n%s", d.err, sup.tail(d.name))
		default:
		}
		token, terr := os.ReadFile(filepath.Join(serverDir, "admin-token"))
		ca, cerr := os.ReadFile(caPath)
		if terr == nil && cerr == nil {
			cfg := Config{Addr: apiURL, Token: strings.TrimSpace(string(token)), CACert: caPath}
			c, err := client.New(client.Options{Addr: apiURL, Token: cfg.Token, CACert: ca})
			if err != nil {
				return nil, cfg, err
			}
			if err := c.Do(ctx, "GET", "/readyz", nil, nil); err == nil {
				return c, cfg, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, Config{}, fmt.Errorf("the server did not become ready within 90s\n%s", sup.tail("server"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitNodes(ctx context.Context, c *client.Client, n int) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		nodes, err := c.Nodes(ctx)
		if err == nil {
			up := 0
			for _, nd := range nodes {
				if nd.State == api.NodeDeployed {
					up++
				}
			}
			if up >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only some of the %d nodes joined within 60s: see the node-*.log files", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printUpSummary(out io.Writer, apiURL string, cfg Config, cfgPath string, o upOptions) {
	fmt.Fprintf(out, `Wharf is up: 1 server and %d nodes.

  API:       %s
  token:     %s
  CA:        %s
  config:    %s (the next wharf command uses it)
  logs:      %s/*.log
%s%s
Try:
  wharf node ls
%s  wharf service ps web
%s  wharf events -f

`, o.nodes, apiURL, cfg.Token, cfg.CACert, cfgPath, o.dataDir, routerLine(o), dockerLine(o), tryCreate(o), tryCurl(o))
	if !o.background {
		fmt.Fprintln(out, "Press Ctrl-C to stop the cluster; run `wharf up` again to resume it.")
	}
}

// downCommand is the command that stops the cluster `wharf up` runs from
// dataDir: `wharf down`, with --data-dir when it is not the default (the
// client config remembers it too, but another cluster's `wharf up`, or a
// login, may have rewritten it since).
func downCommand(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err == nil && abs == defaultDataDir("up") {
		return "wharf down"
	}
	if err != nil {
		abs = dataDir
	}
	return "wharf down --data-dir " + shellQuote(abs)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '-' || r == '_' || r == '.' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return "wharf"
	}
	return p
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, errors.New("bad pid file")
	}
	return pid, nil
}

// upExecUser are the agents' flags about who runs exec workloads: those of
// `wharf up` run as the user who ran it, root included (--exec-as-root).
// It is one person's cluster on their own machine, on loopback, whose only
// token is theirs: whoever may create a service there may already run
// anything as that user, and their programs and the cluster's data dir
// (under their home) are often out of reach of an unprivileged user. A
// shared node is started with `wharf agent`, whose default is --exec-user
// nobody.
func upExecUser() []string {
	if os.Geteuid() == 0 {
		return []string{"--exec-as-root"}
	}
	return nil
}

// freeLoopbackAddr is 127.0.0.1:port, or the next port up to ten on when
// it is taken, else one the system picks.
func freeLoopbackAddr(port int) string {
	for p := port; p < port+10 && p < 65536; p++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// dockerLine is the summary's line about the Docker endpoint, "" without
// one.
func dockerLine(o upOptions) string {
	if o.dockerAddr == "" {
		return ""
	}
	return "  docker:    tcp://" + o.dockerAddr + " (eval \"$(wharf docker-env)\", then docker info)\n"
}

// routerLine is the summary's line about the router, "" without one.
func routerLine(o upOptions) string {
	if o.routerPort <= 0 {
		return ""
	}
	return fmt.Sprintf("  router:    http://127.0.0.1:%d and https://127.0.0.1:%d on node-1 (services' --route)\n", o.routerPort, o.routerTLSPort)
}

// tryCreate is the summary's service create line: with a route when
// node-1 runs the router.
func tryCreate(o upOptions) string {
	route := ""
	if o.routerPort > 0 {
		route = "--route web.localhost "
	}
	return fmt.Sprintf("  wharf service create --name web --replicas 6 %s-- %s hello\n", route, selfPath())
}

// tryCurl is the summary's curl through the router, "" without one.
func tryCurl(o upOptions) string {
	if o.routerPort <= 0 {
		return ""
	}
	return fmt.Sprintf("  curl -H 'Host: web.localhost' http://127.0.0.1:%d/\n", o.routerPort)
}
