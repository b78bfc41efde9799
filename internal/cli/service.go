package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

// serviceView is a service as lists print it: the object plus its state at
// the top level.
type serviceView struct {
	api.Service
	State string `json:"state"`
}

func newServiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "service", Aliases: []string{"svc"}, Short: "Manage services (replicated workloads)"}
	cmd.AddCommand(serviceCreate(g), serviceLs(g), servicePs(g), serviceInspect(g), serviceScale(g),
		serviceVerb(g, "stop", "Stop every container of services"),
		serviceVerb(g, "start", "Start stopped services"),
		serviceRm(g), serviceLogs(g))
	return cmd
}

func serviceCreate(g *globals) *cobra.Command {
	var (
		name, image, strategy, driver string
		replicas                      int
		tags, env                     []string
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [--replicas N] [--tag k=v] [--image IMAGE | -- CMD ARGS...]",
		Short: "Create and start a service",
		Example: `  wharf service create --name web --replicas 6 -- wharf hello
  wharf service create --name api --tag zone=a --env MODE=prod -- ./api --port '$PORT'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			envMap, err := parseLabels(env)
			if err != nil {
				return fmt.Errorf("--env: %w", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			spec := api.ServiceSpec{Image: image, Command: args, Env: envMap, Replicas: replicas, Tags: tags, Strategy: strategy, Driver: driver}
			s, err := c.CreateService(cmd.Context(), name, spec)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "service name (lowercase letters, digits, dashes)")
	f.IntVar(&replicas, "replicas", 1, "number of containers")
	f.StringVar(&image, "image", "", "image to run (docker driver)")
	f.StringSliceVar(&tags, "tag", nil, "node label every node must carry (k=v or k); repeatable")
	f.StringSliceVarP(&env, "env", "e", nil, "environment variable k=v; repeatable")
	f.StringVar(&strategy, "strategy", "", "deployment strategy (EMPTIEST_NODE)")
	f.StringVar(&driver, "driver", "", "driver that runs it: exec, docker or fake (default: docker for an image, exec for a command)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func serviceLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List services", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			svcs, err := c.Services(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(svcs))
			for _, s := range svcs {
				what := s.Spec.Image
				if what == "" {
					what = strings.Join(s.Spec.Command, " ")
				}
				rows = append(rows, row{id: s.ID, obj: serviceView{s, string(s.Status.State)}, cells: []string{
					s.ID, s.Name, string(s.Status.State),
					fmt.Sprintf("%d/%d", s.Status.RunningContainers, s.Spec.Replicas), truncate(what, 40), ago(s.CreatedAt),
				}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"ID", "NAME", "STATE", "RUNNING", "IMAGE/COMMAND", "AGE"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func servicePs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ps SERVICE", Short: "List a service's containers, and why any cannot be placed", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.Service(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := listContainers(cmd, g, f, s.ID); err != nil {
				return err
			}
			if s.Status.Pending != "" && f.format == "" && !f.quiet {
				fmt.Fprintf(cmd.OutOrStdout(), "\nnot placed: %s\n", s.Status.Pending)
			}
			return nil
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func serviceInspect(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "inspect SERVICE...", Short: "Show services as a JSON array", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out := make([]api.Service, 0, len(args))
			for _, id := range args {
				s, err := c.Service(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("service %s: %w", id, err)
				}
				out = append(out, s)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
}

func serviceScale(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "scale SERVICE REPLICAS", Short: "Set a service's number of containers", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return fmt.Errorf("replicas %q: want a whole number, 0 or more", args[1])
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.ScaleService(cmd.Context(), args[0], n)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s scaled to %d\n", s.Name, s.Spec.Replicas)
			return nil
		},
	}
}

func serviceVerb(g *globals, verb, short string) *cobra.Command {
	return &cobra.Command{
		Use: verb + " SERVICE...", Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				s, err := c.ServiceAction(cmd.Context(), id, verb)
				if err != nil {
					return fmt.Errorf("service %s: %w", id, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), s.Name)
			}
			return nil
		},
	}
}

func serviceRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm SERVICE...", Short: "Terminate services: stop and remove every container, then the service", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.RemoveService(cmd.Context(), id); err != nil {
					return fmt.Errorf("service %s: %w", id, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			return nil
		},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
