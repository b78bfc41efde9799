package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/wharfhq/wharf/api"
)

// redeployHelp explains `wharf service redeploy`.
const redeployHelp = `Redeploy replaces every container of the service with a new run of the same
spec, spec.update.parallelism slots at a time (default 1), stop-first or
start-first, each new container gated on readiness (its health check).
Slot names stay ("web-3"). Follow it with 'wharf events'.`

type updateFlags struct {
	image, order, delay, monitor, action string
	env                                  []string
	replicas, parallelism                int
	ratio                                float64
	// the rollback config: how a failed update is rolled back
	rbOrder, rbDelay, rbMonitor string
	rbParallelism               int
}

// patch is the spec fields the flags that were set change.
func (f *updateFlags) patch(cmd *cobra.Command, cur api.ServiceSpec) (map[string]any, error) {
	p := map[string]any{}
	fl := cmd.Flags()
	if fl.Changed("image") {
		p["image"] = f.image
	}
	if fl.Changed("replicas") {
		p["replicas"] = f.replicas
	}
	if fl.Changed("env") {
		add, err := parsePairs("variable", f.env)
		if err != nil {
			return nil, fmt.Errorf("--env: %w", err)
		}
		env := map[string]string{}
		for k, v := range cur.Env {
			env[k] = v
		}
		for k, v := range add {
			env[k] = v
		}
		p["env"] = env
	}
	u := cur.Update
	changed := false
	for name, set := range map[string]func(){
		"parallelism":       func() { u.Parallelism = f.parallelism },
		"update-order":      func() { u.Order = f.order },
		"update-delay":      func() { u.Delay = f.delay },
		"update-monitor":    func() { u.Monitor = f.monitor },
		"failure-action":    func() { u.FailureAction = f.action },
		"max-failure-ratio": func() { u.MaxFailureRatio = f.ratio },
	} {
		if fl.Changed(name) {
			set()
			changed = true
		}
	}
	if changed {
		p["update"] = u
	}
	var rb api.UpdateConfig
	if cur.Rollback != nil {
		rb = *cur.Rollback
	}
	changed = false
	for name, set := range map[string]func(){
		"rollback-parallelism": func() { rb.Parallelism = f.rbParallelism },
		"rollback-order":       func() { rb.Order = f.rbOrder },
		"rollback-delay":       func() { rb.Delay = f.rbDelay },
		"rollback-monitor":     func() { rb.Monitor = f.rbMonitor },
	} {
		if fl.Changed(name) {
			set()
			changed = true
		}
	}
	if changed {
		p["rollback"] = rb
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("nothing to change: give --image, --env, --replicas, an update or a rollback setting (see --help)")
	}
	return p, nil
}

// serviceUpdate is `wharf service update`.
func serviceUpdate(g *globals) *cobra.Command {
	var f updateFlags
	cmd := &cobra.Command{
		Use:   "update SERVICE",
		Short: "Change a service's spec; its containers are replaced by a rolling update",
		Long: `Update changes the service's image, environment (--env adds or replaces
variables) or replicas. A change to what the containers run starts a rolling
update per the service's update config (the --update-* flags change it): old
containers are replaced a batch at a time, each new one gated on readiness;
when more than --max-failure-ratio of them fail, the service rolls back to
its previous spec (or pauses, with --failure-action pause), per the
--rollback-* settings of the spec that failed, else per its update config.`,
		Example: `  wharf service update web --image nginx:1.27 --parallelism 2 --update-order start-first`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cur, err := c.Service(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			p, err := f.patch(cmd, cur.Spec)
			if err != nil {
				return err
			}
			s, err := c.UpdateService(cmd.Context(), cur.ID, p, cur.Revision)
			if err != nil {
				return fmt.Errorf("service %s: %w", args[0], err)
			}
			say(cmd.OutOrStdout(), "%s generation %d\n", s.Name, s.RestartGeneration)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.image, "image", "", "new image")
	fl.StringSliceVarP(&f.env, "env", "e", nil, "environment variable k=v to add or replace; repeatable")
	fl.IntVar(&f.replicas, "replicas", 0, "number of containers")
	fl.IntVar(&f.parallelism, "parallelism", 1, "containers replaced at once")
	fl.StringVar(&f.order, "update-order", api.OrderStopFirst, "stop-first or start-first")
	fl.StringVar(&f.delay, "update-delay", "", "pause between batches (Go duration, e.g. 10s)")
	fl.StringVar(&f.monitor, "update-monitor", "", "how long a new container must stay ready (Go duration)")
	fl.StringVar(&f.action, "failure-action", api.FailureRollback, "rollback or pause")
	fl.Float64Var(&f.ratio, "max-failure-ratio", 0, "share of failed replacements tolerated (0 to 1)")
	fl.IntVar(&f.rbParallelism, "rollback-parallelism", 0, "containers replaced at once when a failed update rolls back (default: as the update)")
	fl.StringVar(&f.rbOrder, "rollback-order", "", "stop-first or start-first, when a failed update rolls back (default: as the update)")
	fl.StringVar(&f.rbDelay, "rollback-delay", "", "pause between rollback batches (Go duration)")
	fl.StringVar(&f.rbMonitor, "rollback-monitor", "", "how long a rolled-back container must stay ready (Go duration)")
	return cmd
}

// restartHelp explains `wharf service restart`.
const restartHelp = `Restart replaces each container of the service with a new run, one slot at a
time: a slot's container is stopped and removed, then started again (on the
same node when it still fits) before the next slot goes. Slots that
autodestroy emptied run again. Follow it with 'wharf events' or 'wharf
service ps'.`
