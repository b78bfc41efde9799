package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
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
		serviceVerb(g, "stop", "Stop every container of services", ""),
		serviceVerb(g, "start", "Start stopped services", ""),
		serviceVerb(g, "restart", "Restart every container of services, one at a time (stop first)", restartHelp),
		serviceVerb(g, "redeploy", "Run every container of services again, per their update config", redeployHelp),
		serviceUpdate(g),
		serviceRm(g), serviceLogs(g))
	return cmd
}

// The help of the port and network mode flags (ports.md of the docs has
// the forms).
const (
	publishHelp = "publish a port, as docker run -p: CONTAINER (a free host port), HOST:CONTAINER, IP:HOST:CONTAINER, IP::CONTAINER, " +
		"ranges 8000-8009:80-89, each with /udp or /tcp; or as docker service create: mode=ingress|host,published=8080,target=80[,protocol=udp][,host_ip=IP] " +
		"(ingress: on every router node)"
	publishAllHelp  = "publish every exposed port (--expose and the image's EXPOSE) on a free host port, as docker run -P"
	exposeHelp      = "expose a container port without publishing it: PORT[/udp] or PORT1-PORT2[/udp]"
	networkModeHelp = "network mode: bridge (default: the organization's networks, ports published), host (the node's network; no --publish, no --network) " +
		"or none (loopback only); for the exec driver bridge and host are both the host's network"
)

// pullHelp is the help of --pull.
const pullHelp = "pull policy: missing (default: nodes pull the image when they lack it; its tag is pinned to a digest at deploy), always, never (the image must be on the nodes: no pull, no registry asked) or build"

// createFlags are the flags of `service create` that build the spec.
type createFlags struct {
	name, image, strategy, driver        string
	pull                                 string
	replicas                             int
	tags, env, labels                    []string
	constraints, affinities, publish     []string
	reserveMemory, reserveCPU            string
	memory, cpus                         string
	autorestart, autodestroy, entrypoint string
	secrets, networks                    []string
	routes                               routeFlags
	expose                               []string
	networkMode                          string
	publishAll                           bool
}

// spec turns the flags and the command line into a service spec; errors
// name the flag at fault.
func (f *createFlags) spec(args []string) (api.ServiceSpec, error) {
	envMap, err := parseEnv(f.env)
	if err != nil {
		return api.ServiceSpec{}, fmt.Errorf("--env: %w", err)
	}
	labels, err := parsePairs("label", f.labels)
	if err != nil {
		return api.ServiceSpec{}, fmt.Errorf("--label: %w", err)
	}
	if len(labels) == 0 {
		labels = nil
	}
	spec := api.ServiceSpec{
		Image: f.image, PullPolicy: f.pull, Command: args, Env: envMap, Replicas: f.replicas, Tags: f.tags, Strategy: f.strategy, Driver: f.driver,
		Constraints: f.constraints, Affinities: f.affinities,
		Autorestart: f.autorestart, Autodestroy: f.autodestroy, Labels: labels,
	}
	// the server is the authority; this only spells them as it stores them
	api.AutorestartPolicies.Normalize(&spec.Autorestart)
	api.AutodestroyPolicies.Normalize(&spec.Autodestroy)
	if f.entrypoint != "" {
		spec.Entrypoint = strings.Fields(f.entrypoint)
	}
	for _, s := range f.secrets {
		ref, err := parseSecretRef(s)
		if err != nil {
			return api.ServiceSpec{}, fmt.Errorf("--secret: %w", err)
		}
		spec.Secrets = append(spec.Secrets, ref)
	}
	spec.Networks = slices.Clone(f.networks)
	if spec.Routes, err = parseRoutes(f.routes.routeFlag, f.routes.routes); err != nil {
		return api.ServiceSpec{}, err
	}
	if spec.RouteOptions, err = f.routes.options(api.RouteOptions{}); err != nil {
		return api.ServiceSpec{}, err
	}
	for _, p := range f.publish {
		ps, err := api.ParsePublish(p)
		if err != nil {
			return api.ServiceSpec{}, fmt.Errorf("--publish: %w", err)
		}
		spec.Ports = append(spec.Ports, ps...)
	}
	for _, e := range f.expose {
		ps, err := api.ParseExpose(e)
		if err != nil {
			return api.ServiceSpec{}, fmt.Errorf("--expose: %w", err)
		}
		spec.Expose = append(spec.Expose, ps...)
	}
	spec.NetworkMode, spec.PublishAll = strings.ToLower(strings.TrimSpace(f.networkMode)), f.publishAll
	for _, b := range []struct {
		flag, val string
		dst       *int64
	}{{"--reserve-memory", f.reserveMemory, &spec.Reservations.MemoryBytes}, {"--memory", f.memory, &spec.Resources.MemoryBytes}} {
		if b.val == "" {
			continue
		}
		n, err := parseBytes(b.val)
		if err != nil {
			return api.ServiceSpec{}, fmt.Errorf("%s: %w", b.flag, err)
		}
		*b.dst = n
	}
	for _, c := range []struct {
		flag, val string
		dst       *int64
	}{{"--reserve-cpu", f.reserveCPU, &spec.Reservations.NanoCPUs}, {"--cpus", f.cpus, &spec.Resources.NanoCPUs}} {
		if c.val == "" {
			continue
		}
		n, err := parseCPUs(c.val)
		if err != nil {
			return api.ServiceSpec{}, fmt.Errorf("%s: %w", c.flag, err)
		}
		*c.dst = n
	}
	return spec, nil
}

// parseBytes reads a size: a number with an optional unit, K, M, G or T
// (powers of 1024, with or without "i" and "B"), e.g. 256M or 1.5GiB.
func parseBytes(s string) (int64, error) {
	num := strings.TrimRight(strings.ToUpper(strings.TrimSpace(s)), "B")
	num = strings.TrimSuffix(num, "I")
	mult := int64(1)
	if n := len(num); n > 0 {
		if i := strings.IndexByte("KMGT", num[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q: want a size such as 512M, 1G or 1048576", s)
	}
	return int64(v * float64(mult)), nil
}

// parseCPUs reads a number of CPUs, e.g. 0.5, as nano CPUs.
func parseCPUs(s string) (int64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v > 1e6 {
		return 0, fmt.Errorf("%q: want a number of CPUs such as 0.5 or 2", s)
	}
	return int64(v * 1e9), nil
}

func serviceCreate(g *globals) *cobra.Command {
	var (
		cf createFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [--replicas N] [--tag k=v] [--constraint EXPR] [--image IMAGE | -- CMD ARGS...]",
		Short: "Create and start a service",
		Long:  "Create and start a service, and print its ID." + waitHelp,
		Example: `  wharf service create --name web --replicas 6 -- wharf hello
  wharf service create --name api --tag zone=a --env MODE=prod -- ./api --port '$PORT'
  wharf service create --name cache --image redis --constraint 'node.labels.disk==ssd*' \
      --affinity 'service!=cache' --publish 6379:6379 --reserve-memory 256M --reserve-cpu 0.5
  wharf service create --name shop --image shop:2 --expose 8080 --route shop.example.com \
      --route https://shop.example.com --route-cert shop-tls --route-force-ssl --route-check /healthz`,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := cf.spec(args)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.CreateService(cmd.Context(), cf.name, spec)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", s.ID)
			return wf.wait(cmd, c, s)
		},
	}
	addWaitFlags(cmd, &wf)
	f := cmd.Flags()
	f.StringVar(&cf.name, "name", "", "service name (lowercase letters, digits, dashes)")
	f.IntVar(&cf.replicas, "replicas", 1, "number of containers")
	f.StringVar(&cf.image, "image", "", "image to run (docker driver)")
	f.StringVar(&cf.pull, "pull", "", pullHelp)
	f.StringSliceVar(&cf.tags, "tag", nil, "node label every node must carry (k=v or k); repeatable")
	f.StringSliceVarP(&cf.env, "env", "e", nil, "environment variable k=v; repeatable")
	f.StringArrayVarP(&cf.labels, "label", "l", nil, "label of the service and its containers, k=v; repeatable")
	f.StringVar(&cf.strategy, "strategy", "", "deployment strategy: EMPTIEST_NODE (default), HIGH_AVAILABILITY, EVERY_NODE, spread, binpack or random (any case, - or _)")
	f.StringVar(&cf.driver, "driver", "", "driver that runs it: exec, docker or fake (default: docker for an image, exec for a command)")
	f.StringArrayVar(&cf.constraints, "constraint", nil, "node constraint, e.g. zone==a, node.labels.disk!=hdd, node.os==linux, soft zone==~a; repeatable")
	f.StringArrayVar(&cf.affinities, "affinity", nil, "container affinity, e.g. service==db, service!=web (one per node), image==redis, soft with ~; repeatable")
	f.StringArrayVarP(&cf.publish, "publish", "p", nil, publishHelp+"; repeatable")
	f.BoolVarP(&cf.publishAll, "publish-all", "P", false, publishAllHelp)
	f.StringArrayVar(&cf.expose, "expose", nil, exposeHelp+"; repeatable")
	f.StringVar(&cf.networkMode, "network-mode", "", networkModeHelp)
	f.StringVar(&cf.reserveMemory, "reserve-memory", "", "memory each container needs of its node, e.g. 256M")
	f.StringVar(&cf.reserveCPU, "reserve-cpu", "", "CPUs each container needs of its node, e.g. 0.5")
	f.StringVar(&cf.memory, "memory", "", "memory limit of each container, e.g. 512M")
	f.StringVar(&cf.cpus, "cpus", "", "CPU limit of each container, e.g. 1.5")
	f.StringVar(&cf.autorestart, "autorestart", "", "restart policy: OFF (default), ON_FAILURE or ALWAYS")
	f.StringVar(&cf.autodestroy, "autodestroy", "", "remove containers that exit: OFF (default), ON_SUCCESS or ALWAYS (needs --autorestart OFF)")
	f.StringVar(&cf.entrypoint, "entrypoint", "", "override the image's entrypoint (docker driver), split on spaces")
	f.StringArrayVar(&cf.secrets, "secret", nil, "mount a secret: SOURCE[,target=FILE][,mode=0400] (at /run/secrets/FILE, or $WHARF_SECRETS_DIR/FILE for exec); repeatable")
	f.StringArrayVar(&cf.networks, "network", nil, "join this network of the organization (wharf network ls; none: the default network); repeatable")
	cf.routes.register(f, false)
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
	addListFlags(cmd, &f, "state")
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
				say(cmd.OutOrStdout(), "\nnot placed: %s\n", s.Status.Pending)
			}
			return nil
		},
	}
	addListFlags(cmd, &f, "state", "node")
	return cmd
}

func serviceInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "SERVICE", "service", (*client.Client).Service)
}

func serviceScale(g *globals) *cobra.Command {
	var wf waitFlags
	cmd := &cobra.Command{
		Use: "scale SERVICE REPLICAS", Short: "Set a service's number of containers", Args: cobra.ExactArgs(2),
		Long: "Set a service's number of containers." + waitHelp,
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
			say(cmd.OutOrStdout(), "%s scaled to %d\n", s.Name, s.Spec.Replicas)
			return wf.wait(cmd, c, s)
		},
	}
	addWaitFlags(cmd, &wf)
	// A negative number looks like a flag to cobra ("unknown shorthand
	// flag: '1' in -1"): say what is wrong with it instead.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if neg := negativeNumberIn(err.Error()); neg != "" {
			return fmt.Errorf("replicas %q: want a whole number, 0 or more (replicas cannot be negative)", neg)
		}
		return err
	})
	return cmd
}

// negativeNumberIn finds "-N" in pflag's "unknown shorthand flag: 'N' in
// -N..." error, or "".
func negativeNumberIn(msg string) string {
	_, arg, ok := strings.Cut(msg, "unknown shorthand flag: ")
	if !ok {
		return ""
	}
	_, arg, ok = strings.Cut(arg, " in ")
	if !ok || len(arg) < 2 || arg[0] != '-' {
		return ""
	}
	if _, err := strconv.Atoi(arg); err != nil {
		return ""
	}
	return arg
}

// serviceVerb is a command that posts verb to each service it names and
// prints their names: stop, start, restart, redeploy. Redeploy then waits
// (waitFlags) for them all.
func serviceVerb(g *globals, verb, short, long string) *cobra.Command {
	var wf waitFlags
	waits := verb == "redeploy"
	if waits {
		long += "\n" + waitHelp
	}
	cmd := &cobra.Command{
		Use: verb + " SERVICE...", Short: short, Long: long, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var targets []target
			err = eachArg(cmd, "service", args, func(id string) (string, error) {
				s, err := c.ServiceAction(cmd.Context(), id, verb)
				if err == nil {
					targets = append(targets, target{s.ID, s.Name, s.RestartGeneration})
				}
				return s.Name, err
			})
			if err != nil || !waits || wf.detach {
				return err
			}
			return waitServices(cmd.Context(), c, cmd.ErrOrStderr(), wf.timeout, targets)
		},
	}
	if waits {
		addWaitFlags(cmd, &wf)
	}
	return cmd
}

func serviceRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm SERVICE...", Short: "Terminate services: stop and remove every container, then the service", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "service", args, func(id string) (string, error) {
				return id, c.RemoveService(cmd.Context(), id)
			})
		},
	}
}

// truncate shortens s to n runes, the last one an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
