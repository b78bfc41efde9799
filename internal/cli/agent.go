package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/exec"
)

func newAgentCmd() *cobra.Command {
	var (
		cfg        agent.Config
		labels     []string
		enableExec bool
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "agent --server URL --token JOIN_TOKEN",
		Short: "Run the node agent: join the cluster, hold one connection to the server, run containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := parseLabels(labels)
			if err != nil {
				return fmt.Errorf("--label: %w", err)
			}
			cfg.Labels = l
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = log
			if !enableExec {
				return fmt.Errorf("no driver to run containers: the docker driver is not available yet, so pass --enable-exec to run services' commands as plain processes")
			}
			d, err := exec.New(filepath.Join(cfg.DataDir, "exec"))
			if err != nil {
				return err
			}
			cfg.Drivers = []runtime.Driver{d}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ServerURL, "server", "", "URL of the Wharf server's API, e.g. https://wharf.example.com:7443")
	f.StringVar(&cfg.JoinToken, "token", "", "join token (from `wharf node join-token`); needed only the first time")
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir("agent"), "where the agent keeps its identity and its containers' state")
	f.StringSliceVar(&labels, "label", nil, "node label k=v; repeatable")
	f.StringVar(&cfg.Hostname, "name", "", "node name (default: the host name)")
	f.BoolVar(&enableExec, "enable-exec", false, "offer the exec driver: run services' commands as plain processes with the agent's privileges")
	f.BoolVar(&cfg.StopContainersOnExit, "stop-containers-on-exit", false, "stop every container when the agent exits (default: they keep running)")
	f.DurationVar(&cfg.HeartbeatInterval, "heartbeat", 0, "heartbeat interval (default 3s)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	_ = cmd.MarkFlagRequired("server")
	return cmd
}
