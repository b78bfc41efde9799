package docker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime"
)

// pingTimeout bounds New's ping when its context has no deadline.
const pingTimeout = 5 * time.Second

// Options configures New.
type Options struct {
	// Host is the engine's address, such as unix:///var/run/docker.sock or
	// tcp://host:2376; "" means DOCKER_HOST, or the default unix socket.
	// DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY apply
	// either way.
	Host string
	// Logger, if set, gets the driver's debug and warning messages.
	Logger *slog.Logger
	// SecretsDir is where containers' secret files are kept
	// (DefaultSecretsDir when empty); see secrets.go.
	SecretsDir string
}

// Driver is the docker driver. Its zero value is not usable; call New,
// then SetNode.
type Driver struct {
	cli *client.Client
	log *slog.Logger

	secretsDir  string
	secretsOnce sync.Once // prepares secretsDir at the first secret
	secretsErr  error     // set by secretsOnce

	mu    sync.Mutex
	node  string             // guarded by mu
	locks map[string]*idLock // Start's per-ID locks; guarded by mu
	// pulls are the pulls in flight, by pullKey; pullCount counts the
	// pulls begun (tests see sharing by it). Both guarded by mu.
	pulls     map[string]*pull
	pullCount int

	netMu  sync.Mutex   // serialises ensureNetworks (network.go)
	legacy legacyClient // creates containers with networks below API 1.44
}

var _ runtime.Driver = (*Driver)(nil)

// idLock serialises Starts of one ID within this Driver.
type idLock struct {
	mu    sync.Mutex
	users int // guarded by Driver.mu
}

// New connects to the Docker Engine and pings it, negotiating the API
// version. It fails when no engine answers or the engine is too old for the
// client (API below 1.40): the agent then does not offer the docker driver.
func New(ctx context.Context, o Options) (*Driver, error) {
	opts := []client.Opt{client.FromEnv}
	if o.Host != "" {
		opts = append(opts, client.WithHost(o.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker driver: engine address: %w; check DOCKER_HOST or the host given", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	// Negotiate now, and fail if it fails: the client otherwise negotiates
	// lazily, ignores a failure and then speaks its newest API version,
	// which an older engine rejects on every call.
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker driver: no Docker Engine answers at %s: %w; start dockerd, or set DOCKER_HOST to where it listens", cli.DaemonHost(), err)
	}
	// A version pinned with DOCKER_API_VERSION is not negotiated: check
	// that the engine accepts the one the client will speak.
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker driver: the engine at %s (API %s) refuses API %s: %w; unset DOCKER_API_VERSION or upgrade the engine",
			cli.DaemonHost(), ping.APIVersion, cli.ClientVersion(), err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Debug("docker engine answers", "host", cli.DaemonHost(), "engine", v.Version, "engine_api", ping.APIVersion, "client_api", cli.ClientVersion())
	sd := o.SecretsDir
	if sd == "" {
		sd = DefaultSecretsDir
	}
	return &Driver{cli: cli, log: log, locks: make(map[string]*idLock), pulls: make(map[string]*pull), secretsDir: sd}, nil
}

// Close releases the driver's connections to the engine.
func (d *Driver) Close() error {
	if d.legacy.cli != nil {
		d.legacy.cli.Close()
	}
	return d.cli.Close()
}

// Name returns "docker".
func (d *Driver) Name() string { return "docker" }

// SetNode sets the node ID that labels every container the driver makes.
// From then on the driver sees only containers labelled with it, so that
// several agents may share one engine. The agent calls it once, before any
// other method but Name and EngineVersion.
func (d *Driver) SetNode(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.node = id
}

// EngineVersion returns the engine's version, such as "20.10.24".
func (d *Driver) EngineVersion(ctx context.Context) (string, error) {
	v, err := d.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("docker driver: engine version: %w", err)
	}
	return v.Version, nil
}

// nodeID returns the node set with SetNode, or errNoNode.
func (d *Driver) nodeID() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.node == "" {
		return "", errNoNode
	}
	return d.node, nil
}

// lock locks id for Start and returns the unlock function.
func (d *Driver) lock(id string) func() {
	d.mu.Lock()
	l := d.locks[id]
	if l == nil {
		l = &idLock{}
		d.locks[id] = l
	}
	l.users++
	d.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		d.mu.Lock()
		if l.users--; l.users == 0 {
			delete(d.locks, id)
		}
		d.mu.Unlock()
	}
}

// find inspects the newest container of id on this node. It returns an
// error wrapping runtime.ErrNotFound if there is none.
func (d *Driver) find(ctx context.Context, id string) (container.InspectResponse, error) {
	all, err := d.findAll(ctx, id)
	if err != nil {
		return container.InspectResponse{}, err
	}
	if len(all) == 0 {
		return container.InspectResponse{}, notFound(id, nil)
	}
	return all[len(all)-1], nil
}

// findAll inspects every container of id (every container when id is "")
// on this node, oldest first. There is one per ID unless an earlier
// failure left a stale one behind.
func (d *Driver) findAll(ctx context.Context, id string) ([]container.InspectResponse, error) {
	node, err := d.nodeID()
	if err != nil {
		return nil, err
	}
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters(node, id)})
	if err != nil {
		return nil, fmt.Errorf("docker driver: list containers: %w", err)
	}
	var out []container.InspectResponse
	for _, s := range res.Items {
		if !managedBy(s.Labels, node) || (id != "" && s.Labels[labelID] != id) {
			continue
		}
		in, err := d.cli.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			if cerrNotFound(err) {
				continue // removed meanwhile
			}
			return nil, fmt.Errorf("docker driver: inspect container %s: %w", s.ID, err)
		}
		out = append(out, in.Container)
	}
	slices.SortStableFunc(out, func(a, b container.InspectResponse) int {
		return parseTime(a.Created).Compare(parseTime(b.Created))
	})
	return out, nil
}
