package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/compose"
)

func newStackCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "stack", Short: "Deploy and manage stacks (applications from compose files)"}
	cmd.AddCommand(stackDeploy(g), stackLs(g), stackPs(g), stackInspect(g),
		stackVerb(g, "stop", "Stop every service of stacks"),
		stackVerb(g, "start", "Start every service of stopped stacks"),
		stackVerb(g, "redeploy", "Run every container of stacks again, per each service's update config"),
		stackRm(g))
	return cmd
}

// deployFlags are the flags of `stack deploy`.
type deployFlags struct {
	files, envFiles, profiles []string
	strict, dryRun            bool
	updateSecrets             bool
	wait                      waitFlags
}

const deployLong = `Deploy a stack from compose files: create it, or bring it to what the files
say now. Without -f, the default compose file of the current directory
(compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml).
NAME defaults to the project name the files give (top-level name:).

Every part of the files Wharf ignores or changes is reported on stderr as
file:line: message (an error with --strict). Then the plan, one line per
service: create, update (with the changed fields, and whether the update
replaces the containers), remove (a service no longer in the files) or
unchanged. --dry-run prints the plan and changes nothing.

Docker Cloud's stackfile keys go in an x-wharf extension on a service:
target_num_containers, deployment_strategy, tags, autorestart, autodestroy,
sequential_deployment, driver (exec runs a command with no image),
healthcheck_http (a path to GET), stop_after_disconnect, routes and
route_options (as --route and the --route-* options; also the labels
wharf.route and wharf.route.<option>). A dockercloud/haproxy service is not
deployed: Wharf's router serves its linked services. See docs/stacks.md.

Services with build: (context, dockerfile, args, target) are built first,
with the Docker Engine of this machine (DOCKER_HOST), and pushed to the
server's built-in registry as <org>/<stack>-<service>, tagged by a hash of
the context; each runs the pushed digest. A context whose tag is in the
registry already builds nothing ("image web: unchanged ..."). Build output
goes to stderr; a failed build stops the deploy before anything changes.
--dry-run says what would be built and builds nothing. See docs/build.md.

Top-level secrets (file: or environment:, read here) become Wharf secrets
named <stack>_<name>, created before the deploy when missing; one that exists
keeps its value unless --update-secrets. external: true names an existing
secret (name: or the key).
` + waitHelp

func stackDeploy(g *globals) *cobra.Command {
	var df deployFlags
	cmd := &cobra.Command{
		Use:   "deploy [-f FILE]... [--env-file FILE] [--profile P] [--strict] [--dry-run] [--detach] [NAME]",
		Short: "Create or update a stack from compose files, and print the plan",
		Long:  deployLong,
		Example: `  wharf stack deploy -f examples/exec/compose.yml demo
  wharf stack deploy -f compose.yml -f compose.prod.yml --env-file prod.env shop
  wharf stack deploy --dry-run demo        # what would change, nothing changed`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := compose.Load(cmd.Context(), compose.Options{
				Files: df.files, EnvFiles: df.envFiles, Profiles: df.profiles, Strict: df.strict,
			})
			if err != nil {
				return err
			}
			for _, w := range st.Warnings {
				say(cmd.ErrOrStderr(), "%s\n", w.String())
			}
			name, err := stackName(st, args)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if hasBuilds(st) {
				// Before anything changes on the server: a failed
				// build stops the deploy here.
				if err := buildImages(cmd, g, c, st, name, df.dryRun); err != nil {
					return fmt.Errorf("stack %s: %w", name, err)
				}
			}
			st.NameSecrets(name)
			if err := deploySecrets(cmd, c, st, df.dryRun, df.updateSecrets); err != nil {
				return fmt.Errorf("stack %s: %w", name, err)
			}
			res, err := c.DeployStack(cmd.Context(), name, st.StackSpec(), df.dryRun)
			if err != nil {
				return fmt.Errorf("stack %s: %w", name, err)
			}
			if err := printPlan(cmd.OutOrStdout(), name, res); err != nil || df.dryRun || df.wait.detach {
				return err
			}
			svcs, err := c.StackServices(cmd.Context(), name)
			if err != nil {
				return fmt.Errorf("stack %s: %w", name, err)
			}
			slices.SortFunc(svcs, func(a, b api.Service) int { return strings.Compare(a.Name, b.Name) })
			targets := make([]target, 0, len(svcs))
			for _, s := range svcs {
				if !s.Terminating {
					targets = append(targets, target{s.ID, s.Name, s.RestartGeneration})
				}
			}
			return waitServices(cmd.Context(), c, cmd.ErrOrStderr(), df.wait.timeout, targets)
		},
	}
	addWaitFlags(cmd, &df.wait)
	f := cmd.Flags()
	f.StringArrayVarP(&df.files, "file", "f", nil, "compose file; repeatable, later files override earlier ones (default: compose.yaml or compose.yml here)")
	f.StringArrayVar(&df.envFiles, "env-file", nil, "file of variables for interpolation, instead of .env; repeatable")
	f.StringArrayVar(&df.profiles, "profile", nil, "enable services of this profile; repeatable")
	f.BoolVar(&df.strict, "strict", false, "fail on any warning (unsupported keys, ignored values)")
	f.BoolVar(&df.dryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&df.updateSecrets, "update-secrets", false, "replace the value of the stack's secrets that exist already (their services are redeployed)")
	return cmd
}

// stackName is the NAME argument, else the name the files give.
func stackName(st *compose.Stack, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	if st.Named && st.Name != "" {
		return st.Name, nil
	}
	return "", fmt.Errorf("give the stack a NAME (wharf stack deploy ... NAME), or a top-level name: in the compose file")
}

// printPlan prints one line per service of the plan and a summary.
func printPlan(w io.Writer, name string, res api.DeployStackResult) error {
	for _, n := range res.Networks {
		if err := say(w, "create network %s (%s)\n", n.Name, n.Subnet); err != nil {
			return err
		}
	}
	counts := map[string]int{}
	for _, e := range res.Plan {
		counts[e.Action]++
		if err := say(w, "%s\n", planLine(e)); err != nil {
			return err
		}
	}
	verb := "deployed"
	switch {
	case res.DryRun:
		verb = "dry run, nothing was changed"
	case res.Created:
		verb = "created"
	}
	return say(w, "stack %s (%s): %d to create, %d to update, %d to remove, %d unchanged\n", name, verb,
		counts[api.PlanCreate], counts[api.PlanUpdate], counts[api.PlanRemove], counts[api.PlanUnchanged])
}

// planLine is `update worker: image "a" → "b", env.MODE "x" → "y" (rolling
// update)`, or `create web`, `remove old`, `unchanged db`.
func planLine(e api.PlanEntry) string {
	line := e.Action + " " + e.Service
	if len(e.Changes) > 0 {
		parts := make([]string, 0, len(e.Changes))
		for _, c := range e.Changes {
			parts = append(parts, c.Field+" "+orNone(c.Old)+" → "+orNone(c.New))
		}
		line += ": " + strings.Join(parts, ", ")
	}
	if e.Rollout {
		line += " (rolling update)"
	}
	return line
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
