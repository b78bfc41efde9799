package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// cleanupTimeout bounds removing what a failed Start made, which runs even
// when Start's context has ended.
const cleanupTimeout = 10 * time.Second

// Start creates and starts a run of spec.ID. Starting an ID that runs
// returns its status. Starting an ID whose last run exited starts its
// container again when it runs the same spec (its logs are kept and
// appended to), and otherwise replaces the container with a new one (the
// old run's logs are then gone). The image is pulled per spec.PullPolicy
// (pull.go): always before every start, missing (and build, and "") when
// the node lacks it; with never an image not on the node fails at once.
//
// The workload's environment is spec.Env plus WHARF_CONTAINER_ID,
// WHARF_CONTAINER_NAME, WHARF_SERVICE, WHARF_SLOT, WHARF_NODE and, when
// spec publishes ports, PORT (the first one's container port); these win
// over spec.Env. Ports are published as ports.go says (network modes,
// host addresses, free ports, -P). The container is never privileged and runs with
// no-new-privileges. The engine's init (docker-init) runs as PID 1,
// reaping zombies and forwarding signals to the workload. spec.Mounts are
// mounted (see volumes.go: named volumes are created first and never
// removed) and spec.Labels join Wharf's labels. A container with
// spec.Networks runs on their Docker networks, with the slot's address and
// MAC, made first if missing (see network.go); networks are never removed.
// spec.TTY and spec.Interactive give it a terminal and an open input.
func (d *Driver) Start(ctx context.Context, spec runtime.Spec) (runtime.Status, error) {
	if spec.ID == "" || spec.Image == "" {
		return runtime.Status{}, fmt.Errorf("docker driver: start %q: a spec needs an ID and an image", spec.ID)
	}
	if err := checkAttachments(spec); err != nil {
		return runtime.Status{}, err
	}
	if err := checkNetworkMode(spec); err != nil {
		return runtime.Status{}, err
	}
	node, err := d.nodeID()
	if err != nil {
		return runtime.Status{}, err
	}
	defer d.lock(spec.ID)()

	if spec.PullPolicy == api.PullAlways {
		if err := d.ensureImage(ctx, spec); err != nil {
			return runtime.Status{}, err
		}
	}
	old, err := d.findAll(ctx, spec.ID)
	if err != nil {
		return runtime.Status{}, err
	}
	if n := len(old); n > 0 {
		last := old[n-1]
		if last.State != nil && last.State.Running {
			return status(last), nil
		}
		if n == 1 && last.State != nil && last.State.Status == container.StateExited &&
			last.Config != nil && last.Config.Labels[labelSpec] == specHash(spec) && hardened(last.HostConfig) {
			// The same secret versions (they are in the hash); written
			// again, as the tmpfs may have been emptied by a reboot.
			if _, err := d.writeSecrets(spec); err != nil {
				return runtime.Status{}, err
			}
			// Its networks are as they were (the spec is the same), but
			// one may have been removed since.
			if err := d.ensureNetworks(ctx, spec, node); err != nil {
				return runtime.Status{}, err
			}
			return d.restart(ctx, last)
		}
		for _, c := range old {
			if err := d.forceRemove(ctx, c.ID); err != nil {
				return runtime.Status{}, fmt.Errorf("docker driver: start %s: remove its exited container: %w", spec.ID, err)
			}
		}
	}
	return d.create(ctx, spec, node)
}

// restart starts the exited container c again.
func (d *Driver) restart(ctx context.Context, c container.InspectResponse) (runtime.Status, error) {
	id := c.Config.Labels[labelID]
	if _, err := d.cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		return runtime.Status{}, engineErr(id, "start again", err)
	}
	in, err := d.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Status{}, engineErr(id, "inspect", err)
	}
	d.log.Debug("docker container started again", "id", id, "docker_id", c.ID)
	return status(in.Container), nil
}

// create creates and starts a new container for spec. If it fails it
// removes what it made.
func (d *Driver) create(ctx context.Context, spec runtime.Spec, node string) (runtime.Status, error) {
	if spec.PullPolicy != api.PullAlways { // always pulled already, in Start
		if err := d.ensureImage(ctx, spec); err != nil {
			return runtime.Status{}, err
		}
	}
	cfg, host, err := containerConfig(spec, node)
	if err != nil {
		return runtime.Status{}, err
	}
	if err := d.ensureVolumes(ctx, spec, node); err != nil {
		return runtime.Status{}, err
	}
	if err := d.ensureNetworks(ctx, spec, node); err != nil {
		return runtime.Status{}, err
	}
	cli, err := d.createClient(len(spec.Networks) > 0)
	if err != nil {
		return runtime.Status{}, err
	}
	secretMounts, err := d.writeSecrets(spec)
	if err != nil {
		return runtime.Status{}, err
	}
	host.Mounts = append(host.Mounts, secretMounts...)
	made := false
	defer func() {
		if !made {
			_ = d.removeSecrets(spec.ID)
		}
	}()
	_, netCfg, _ := networkConfig(spec)
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: containerName(spec), Config: cfg, HostConfig: host, NetworkingConfig: netCfg,
	})
	if err != nil {
		if cerrNotFound(err) { // the image went away since we looked
			return runtime.Status{}, imageMissing(spec.Image, err)
		}
		if berr := bindMissing(spec, err); berr != nil {
			return runtime.Status{}, berr
		}
		return runtime.Status{}, fmt.Errorf("docker driver: start %s: create container: %w", spec.ID, err)
	}
	for _, w := range created.Warnings {
		d.log.Warn("docker engine warns about a new container", "id", spec.ID, "warning", w)
	}
	err = d.connectNetworks(ctx, spec, created.ID)
	var st runtime.Status
	if err == nil {
		st, err = d.startCreated(ctx, spec.ID, created.ID)
	}
	if err != nil {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rmErr := d.forceRemove(rmCtx, created.ID); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("docker driver: and removing the container it left failed: %w", rmErr))
		}
		return runtime.Status{}, err
	}
	d.log.Debug("docker container started", "id", spec.ID, "docker_id", created.ID, "image", spec.Image)
	made = true
	return st, nil
}

// noNewPrivileges is the security option that keeps a container's
// processes from gaining privileges through setuid or file-capability
// programs (CIS Docker Benchmark 5.25).
const noNewPrivileges = "no-new-privileges:true"

// hardened reports whether a container was made with the host
// configuration containerConfig gives every container now. One that an
// agent before no-new-privileges made is adopted as it is while it runs
// (the option is in the host configuration, not in the Spec, so its spec
// hash is unchanged and nothing replaces it); once it has exited, Start
// replaces it rather than starting it again.
func hardened(h *container.HostConfig) bool {
	return h != nil && !h.Privileged && slices.Contains(h.SecurityOpt, noNewPrivileges)
}

// startCreated starts the created container dockerID and inspects it.
func (d *Driver) startCreated(ctx context.Context, id, dockerID string) (runtime.Status, error) {
	if _, err := d.cli.ContainerStart(ctx, dockerID, client.ContainerStartOptions{}); err != nil {
		return runtime.Status{}, fmt.Errorf("docker driver: start %s: %w; check the image's entrypoint and the spec's command", id, err)
	}
	in, err := d.cli.ContainerInspect(ctx, dockerID, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Status{}, fmt.Errorf("docker driver: start %s: inspect: %w", id, err)
	}
	return status(in.Container), nil
}

// forceRemove removes the docker container dockerID, killing it if it
// runs; one already gone is fine. RemoveVolumes removes only the anonymous
// volumes an image declares: named volumes always stay.
func (d *Driver) forceRemove(ctx context.Context, dockerID string) error {
	_, err := d.cli.ContainerRemove(ctx, dockerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrNotFound(err) {
		return err
	}
	return nil
}

// containerConfig is the engine's configuration of spec's container.
func containerConfig(spec runtime.Spec, node string) (*container.Config, *container.HostConfig, error) {
	env := maps.Clone(spec.Env)
	if env == nil {
		env = make(map[string]string)
	}
	env["WHARF_CONTAINER_ID"] = spec.ID
	env["WHARF_CONTAINER_NAME"] = spec.Name
	env["WHARF_SERVICE"] = spec.Service
	env["WHARF_SLOT"] = strconv.Itoa(spec.Slot)
	env["WHARF_NODE"] = spec.Node
	exposed, bindings, err := portConfig(spec)
	if err != nil {
		return nil, nil, err
	}
	if len(spec.Ports) > 0 {
		env["PORT"] = strconv.Itoa(spec.Ports[0].ContainerPort)
	}
	lbl, err := labels(spec, node)
	if err != nil {
		return nil, nil, err
	}
	mnts, err := mounts(spec)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Env:          envList(env),
		Labels:       lbl,
		ExposedPorts: exposed,
	}
	if len(spec.Command) > 0 {
		cfg.Cmd = spec.Command
	}
	// A terminal and an open input (docker run -t, -i): a client attaches
	// later, through the agent (streams.go). StdinOnce ends the input when
	// that client's does, as docker run -i's.
	cfg.Tty = spec.TTY
	if spec.Interactive {
		cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin = true, true, true
		cfg.AttachStdout, cfg.AttachStderr = true, true
	}
	if len(spec.Entrypoint) > 0 {
		cfg.Entrypoint = spec.Entrypoint
	}
	host := &container.HostConfig{
		// The engine's init (tini) runs as PID 1 and forwards signals: a
		// workload that is PID 1 itself ignores SIGTERM unless it handles
		// it, so Stop would wait out its timeout every time.
		Init: new(true),
		// Never privileged, and no gaining privileges; not part of the
		// Spec, so the spec hash of a running container does not change.
		Privileged:      false,
		SecurityOpt:     []string{noNewPrivileges},
		PortBindings:    bindings,
		PublishAllPorts: spec.PublishAll,
		Mounts:          mnts,
		RestartPolicy:   container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory:   spec.Resources.MemoryBytes,
			NanoCPUs: spec.Resources.NanoCPUs,
		},
	}
	// On overlay networks (network.go): the first attachment's Docker
	// network, and the attachments' resolvers behind Docker's embedded DNS;
	// in network mode host or none, the engine's network of that name.
	host.NetworkMode, _, host.DNS = networkConfig(spec)
	return cfg, host, nil
}

// envList is env as sorted KEY=value strings.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
