package cli

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wharfhq/wharf/api"
)

// redeployHelp explains `wharf service redeploy`.
const redeployHelp = `Redeploy replaces every container of the service with a new run of the same
spec, spec.update.parallelism slots at a time (default 1), stop-first or
start-first, each new container gated on readiness (its health check).
Slot names stay ("web-3"). With --detach, follow it with 'wharf events'.`

type updateFlags struct {
	// spec are the flags `service create` takes too; the lists and maps
	// among them add to the service's (replacing the same key).
	spec                                 createFlags
	envRm, labelRm, constraintRm, tagRm  []string
	affinityRm, publishRm, secretRm      []string
	networkRm, exposeRm                  []string
	image, order, delay, monitor, action string
	replicas, parallelism                int
	ratio                                float64
	// the rollback config: how a failed update is rolled back
	rbOrder, rbDelay, rbMonitor string
	rbParallelism               int
}

// patch is the spec fields the flags that were set change; command is
// what follows "--" (nil: unchanged).
func (f *updateFlags) patch(cmd *cobra.Command, cur api.ServiceSpec, command []string) (map[string]any, error) {
	p := map[string]any{}
	fl := cmd.Flags()
	f.spec.image = f.image
	spec, err := f.spec.spec(command)
	if err != nil {
		return nil, err
	}
	for flag, set := range map[string]func(){
		"image":        func() { p["image"] = spec.Image },
		"replicas":     func() { p["replicas"] = f.replicas },
		"strategy":     func() { p["strategy"] = spec.Strategy },
		"driver":       func() { p["driver"] = spec.Driver },
		"autorestart":  func() { p["autorestart"] = spec.Autorestart },
		"autodestroy":  func() { p["autodestroy"] = spec.Autodestroy },
		"entrypoint":   func() { p["entrypoint"] = spec.Entrypoint },
		"pull":         func() { p["pull_policy"] = spec.PullPolicy },
		"network-mode": func() { p["network_mode"] = spec.NetworkMode },
		"publish-all":  func() { p["publish_all"] = spec.PublishAll },
	} {
		if fl.Changed(flag) {
			set()
		}
	}
	if command != nil {
		p["command"] = command
	}
	if fl.Changed("env") || fl.Changed("env-rm") {
		p["env"] = mergeMap(cur.Env, spec.Env, f.envRm)
	}
	if fl.Changed("label") || fl.Changed("label-rm") {
		p["labels"] = mergeMap(cur.Labels, spec.Labels, f.labelRm)
	}
	for _, l := range []struct {
		field, add, rm string
		cur, plus      []string
		minus          []string
	}{
		{"constraints", "constraint", "constraint-rm", cur.Constraints, spec.Constraints, f.constraintRm},
		{"affinities", "affinity", "affinity-rm", cur.Affinities, spec.Affinities, f.affinityRm},
		{"tags", "tag", "tag-rm", cur.Tags, spec.Tags, f.tagRm},
	} {
		if fl.Changed(l.add) || fl.Changed(l.rm) {
			p[l.field] = mergeList(l.cur, l.plus, l.minus)
		}
	}
	if fl.Changed("publish") || fl.Changed("publish-rm") {
		ports, err := mergePorts("--publish-rm", cur.Ports, spec.Ports, f.publishRm)
		if err != nil {
			return nil, err
		}
		p["ports"] = ports
	}
	if fl.Changed("expose") || fl.Changed("expose-rm") {
		expose, err := mergePorts("--expose-rm", cur.Expose, spec.Expose, f.exposeRm)
		if err != nil {
			return nil, err
		}
		p["expose"] = expose
	}
	if fl.Changed("secret") || fl.Changed("secret-rm") {
		var secrets []api.SecretRef
		for _, s := range cur.Secrets {
			if !slices.Contains(f.secretRm, s.Source) && !slices.ContainsFunc(spec.Secrets, func(n api.SecretRef) bool { return n.Source == s.Source }) {
				secrets = append(secrets, s)
			}
		}
		secrets = append(secrets, spec.Secrets...)
		if len(secrets) == 0 {
			secrets = nil
		}
		p["secrets"] = secrets
	}
	if fl.Changed("network") || fl.Changed("network-rm") {
		var nets []string
		for _, n := range append(slices.Clone(cur.Networks), spec.Networks...) {
			if !slices.Contains(f.networkRm, n) && !slices.Contains(nets, n) {
				nets = append(nets, n)
			}
		}
		p["networks"] = nets
	}
	if fl.Changed("route-add") || fl.Changed("route-rm") {
		routes, err := mergeRoutes(cur.Routes, spec.Routes, f.spec.routes.rm)
		if err != nil {
			return nil, err
		}
		p["routes"] = routes
	}
	if slices.ContainsFunc(optionFlags, fl.Changed) {
		o, err := f.spec.routes.options(cur.RouteOptions)
		if err != nil {
			return nil, err
		}
		p["route_options"] = o
	}
	if fl.Changed("reserve-memory") || fl.Changed("reserve-cpu") {
		r := cur.Reservations
		if fl.Changed("reserve-memory") {
			r.MemoryBytes = spec.Reservations.MemoryBytes
		}
		if fl.Changed("reserve-cpu") {
			r.NanoCPUs = spec.Reservations.NanoCPUs
		}
		p["reservations"] = r
	}
	if fl.Changed("memory") || fl.Changed("cpus") {
		r := cur.Resources
		if fl.Changed("memory") {
			r.MemoryBytes = spec.Resources.MemoryBytes
		}
		if fl.Changed("cpus") {
			r.NanoCPUs = spec.Resources.NanoCPUs
		}
		p["resources"] = r
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
		return nil, fmt.Errorf("nothing to change: give a field to change, such as --image, --env, --replicas, -- CMD ARGS, or an update or rollback setting (see --help)")
	}
	return p, nil
}

// mergeMap is cur without the keys of rm, with add's entries set.
func mergeMap(cur, add map[string]string, rm []string) map[string]string {
	out := map[string]string{}
	for k, v := range cur {
		if !slices.Contains(rm, k) {
			out[k] = v
		}
	}
	for k, v := range add {
		out[k] = v
	}
	if len(out) == 0 {
		return nil // as the spec has it when there are none
	}
	return out
}

// mergeList is cur without the entries of rm, then those of add it lacks.
func mergeList(cur, add, rm []string) []string {
	var out []string
	for _, v := range cur {
		if !slices.Contains(rm, v) {
			out = append(out, v)
		}
	}
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mergePorts is cur without the container ports rm names (PORT[/PROTO],
// given with flag) and those add publishes again, then add's.
func mergePorts(flag string, cur, add []api.PortSpec, rm []string) ([]api.PortSpec, error) {
	key := func(p api.PortSpec) string { return strconv.Itoa(p.ContainerPort) + "/" + cmp.Or(p.Protocol, "tcp") }
	drop := map[string]bool{}
	for _, r := range rm {
		port, proto, _ := strings.Cut(r, "/")
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || (proto != "" && proto != "tcp" && proto != "udp") {
			return nil, fmt.Errorf("%s %q: want a container port, CONTAINER[/udp], such as 80", flag, r)
		}
		drop[key(api.PortSpec{ContainerPort: n, Protocol: proto})] = true
	}
	for _, a := range add {
		drop[key(a)] = true
	}
	var out []api.PortSpec
	for _, p := range cur {
		if !drop[key(p)] {
			out = append(out, p)
		}
	}
	out = append(out, add...)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// serviceUpdate is `wharf service update`.
func serviceUpdate(g *globals) *cobra.Command {
	var (
		f  updateFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "update SERVICE [flags] [-- CMD ARGS...]",
		Short: "Change a service's spec; its containers are replaced by a rolling update",
		Long: `Update changes any field that 'wharf service create' sets: the flags of
create replace a value (--image, --strategy, --memory...), or add to a list
or map (--env, --label, --constraint, --affinity, --tag, --publish,
--secret, --network, --route-add); the -rm flags remove from them (--env-rm KEY,
--label-rm KEY, --constraint-rm EXPR, --affinity-rm EXPR, --tag-rm TAG,
--publish-rm PORT, --secret-rm NAME, --network-rm NAME, --route-rm ROUTE); the
--route-* options replace the service's; what follows -- replaces the command. A change to what
--expose, --secret, --network); the -rm flags remove from them (--env-rm KEY,
--label-rm KEY, --constraint-rm EXPR, --affinity-rm EXPR, --tag-rm TAG,
--publish-rm PORT, --expose-rm PORT, --secret-rm NAME, --network-rm NAME);
what follows -- replaces the command. A change to what
the containers run starts a rolling
update per the service's update config (the --update-* flags change it): old
containers are replaced a batch at a time, each new one gated on readiness;
when more than --max-failure-ratio of them fail, the service rolls back to
its previous spec (or pauses, with --failure-action pause), per the
--rollback-* settings of the spec that failed, else per its update config.
` + waitHelp,
		Example: `  wharf service update web --image nginx:1.27 --parallelism 2 --update-order start-first
  wharf service update web --env-rm DEBUG --constraint-rm zone==a --constraint zone==b
  wharf service update api -- ./api --port '$PORT'
  wharf service update web --route-add https://a.example.com --route-rm a.example.com --route-force-ssl`,
		Args: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); len(args) < 1 || dash == 0 || (dash < 0 && len(args) > 1) || dash > 1 {
				return fmt.Errorf("want one service, then the flags, and -- CMD ARGS to change the command")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cur, err := c.Service(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var command []string
			if cmd.ArgsLenAtDash() == 1 {
				command = args[1:]
			}
			p, err := f.patch(cmd, cur.Spec, command)
			if err != nil {
				return err
			}
			s, err := c.UpdateService(cmd.Context(), cur.ID, p, cur.Revision)
			if err != nil {
				return fmt.Errorf("service %s: %w", args[0], err)
			}
			say(cmd.OutOrStdout(), "%s generation %d\n", s.Name, s.RestartGeneration)
			return wf.wait(cmd, c, s)
		},
	}
	addWaitFlags(cmd, &wf)
	fl := cmd.Flags()
	cf := &f.spec
	fl.StringVar(&f.image, "image", "", "new image")
	fl.StringVar(&cf.pull, "pull", "", pullHelp)
	fl.StringSliceVarP(&cf.env, "env", "e", nil, "environment variable k=v to add or replace; repeatable")
	fl.StringSliceVar(&f.envRm, "env-rm", nil, "environment variable to remove (its name); repeatable")
	fl.StringArrayVarP(&cf.labels, "label", "l", nil, "label k=v to add or replace; repeatable")
	fl.StringSliceVar(&f.labelRm, "label-rm", nil, "label to remove (its key); repeatable")
	fl.IntVar(&f.replicas, "replicas", 0, "number of containers")
	fl.StringSliceVar(&cf.tags, "tag", nil, "node label every node must carry (k=v or k) to add; repeatable")
	fl.StringSliceVar(&f.tagRm, "tag-rm", nil, "tag to remove; repeatable")
	fl.StringVar(&cf.strategy, "strategy", "", "deployment strategy: EMPTIEST_NODE, HIGH_AVAILABILITY, EVERY_NODE, spread, binpack or random")
	fl.StringVar(&cf.driver, "driver", "", "driver that runs it: exec, docker or fake")
	fl.StringArrayVar(&cf.constraints, "constraint", nil, "node constraint to add, e.g. zone==a; repeatable")
	fl.StringArrayVar(&f.constraintRm, "constraint-rm", nil, "node constraint to remove, as written; repeatable")
	fl.StringArrayVar(&cf.affinities, "affinity", nil, "container affinity to add, e.g. service!=web; repeatable")
	fl.StringArrayVar(&f.affinityRm, "affinity-rm", nil, "container affinity to remove, as written; repeatable")
	fl.StringArrayVarP(&cf.publish, "publish", "p", nil, publishHelp+"; replaces the bindings of the same container port; repeatable")
	fl.StringArrayVar(&f.publishRm, "publish-rm", nil, "published container port to remove (all its bindings), CONTAINER[/udp]; repeatable")
	fl.BoolVarP(&cf.publishAll, "publish-all", "P", false, publishAllHelp+" (--publish-all=false: no longer)")
	fl.StringArrayVar(&cf.expose, "expose", nil, exposeHelp+"; repeatable")
	fl.StringArrayVar(&f.exposeRm, "expose-rm", nil, "exposed container port to remove, CONTAINER[/udp]; repeatable")
	fl.StringVar(&cf.networkMode, "network-mode", "", networkModeHelp)
	fl.StringVar(&cf.reserveMemory, "reserve-memory", "", "memory each container needs of its node, e.g. 256M (0: none)")
	fl.StringVar(&cf.reserveCPU, "reserve-cpu", "", "CPUs each container needs of its node, e.g. 0.5 (0: none)")
	fl.StringVar(&cf.memory, "memory", "", "memory limit of each container, e.g. 512M (0: none)")
	fl.StringVar(&cf.cpus, "cpus", "", "CPU limit of each container, e.g. 1.5 (0: none)")
	fl.StringVar(&cf.autorestart, "autorestart", "", "restart policy: OFF, ON_FAILURE or ALWAYS")
	fl.StringVar(&cf.autodestroy, "autodestroy", "", "remove containers that exit: OFF, ON_SUCCESS or ALWAYS")
	fl.StringVar(&cf.entrypoint, "entrypoint", "", "the image's entrypoint to use (docker driver), split on spaces; \"\" for the image's own")
	fl.StringArrayVar(&cf.secrets, "secret", nil, "secret to mount, SOURCE[,target=FILE][,mode=0400], replacing one of the same source; repeatable")
	fl.StringArrayVar(&f.secretRm, "secret-rm", nil, "secret to unmount (its source name); repeatable")
	fl.StringArrayVar(&cf.networks, "network", nil, "network to join; repeatable")
	fl.StringArrayVar(&f.networkRm, "network-rm", nil, "network to leave; repeatable")
	cf.routes.register(fl, true)
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
