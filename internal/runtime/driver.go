// Package runtime defines what a Wharf agent needs from a container runtime:
// the Driver interface that the exec, fake and (later) docker drivers
// implement, and the types they exchange. It never talks to the server.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// Spec is what the agent asks a driver to run: one run of one slot.
type Spec struct {
	ID         string // the Wharf container ID; unique per slot
	Name       string // "<service>-<slot>", e.g. "web-3"
	Service    string
	Slot       int
	Node       string // node ID, handed to the workload as WHARF_NODE
	Image      string
	Command    []string
	Entrypoint []string
	Env        map[string]string
	Ports      []api.PortSpec
	Resources  api.Resources
	// NetworkMode is the service's: bridge (""), host or none. Expose
	// and PublishAll are its unpublished ports and docker's -P. All are
	// omitted from JSON when empty, as Labels.
	NetworkMode string         `json:",omitempty"`
	Expose      []api.PortSpec `json:",omitempty"`
	PublishAll  bool           `json:",omitempty"`
	// TTY gives the container a terminal; Interactive keeps its standard
	// input open until the first attached client's input ends (docker's
	// -t and -i). Only the docker driver has them; omitted from JSON when
	// false, as Labels.
	TTY         bool `json:",omitempty"`
	Interactive bool `json:",omitempty"`
	// Mounts are the container's volumes: a named volume's Source is its
	// full per-slot name ("<service>-<slot>-<source>"), a bind's an absolute
	// host path. Only the docker driver mounts them.
	Mounts []api.VolumeMount `json:",omitempty"`
	// Labels are the user's labels for the container, put beside the
	// driver's own (which they never override).
	//
	// Both are omitted from JSON when empty, so that a Spec without them
	// hashes (docker's wharf.spec label) and persists (exec's state) as it
	// did before they existed.
	Labels map[string]string `json:",omitempty"`
	// Secrets are the container's secret files, values included. They
	// are never serialized: not into exec's state file, not into docker's
	// spec hash. Drivers keep them off the node's disk where they can and
	// remove them with the container.
	Secrets []api.SecretFile `json:"-"`
	// SecretsVersion names the secret files without their values (see
	// SecretsVersion); it is serialized, so that a new value of a secret
	// changes docker's spec hash and a restart gets a new container.
	SecretsVersion string `json:",omitempty"`
	// PullPolicy says when the docker driver pulls Image (api.PullMissing,
	// the default when empty, api.PullAlways, api.PullNever, api.PullBuild);
	// other drivers ignore it.
	PullPolicy string `json:",omitempty"`
	// RegistryAuth is the credential for Image's registry, if the
	// organization has one. Like Secrets it is never serialized: not into
	// state files, spec hashes or labels.
	RegistryAuth *api.RegistryAuth `json:"-"`
	// PullProgress, if set, hears a pull's progress in percent (0-100)
	// while Start waits on it; it may be called from another goroutine.
	PullProgress func(percent int) `json:"-"`
	// Networks are the container's interfaces on the node's overlay
	// networks (empty when the node runs no overlay: the container then
	// runs as before, on the host's network). Omitted from JSON when
	// empty, as Labels.
	Networks []Attachment `json:",omitempty"`
}

// Attachment is one interface a driver gives a container on an overlay
// network: a port on the node's bridge for the network, with the slot's
// address.
type Attachment struct {
	Network string       // the network's name
	Bridge  string       // the node's bridge for the network
	Address netip.Prefix // the slot's address, with the subnet's length
	Gateway netip.Addr   // on the bridge; the default route
	MAC     string       // api.MACFor the address
	MTU     int          // the underlay's less api.VXLANOverhead
	// DNS is the node's resolver for the network (it listens on the
	// gateway address); the container's only nameserver.
	DNS netip.Addr
}

// SecretsVersion is files' targets, modes and versions, never values:
// "target:mode:version" joined by commas, in order.
func SecretsVersion(files []api.SecretFile) string {
	parts := make([]string, len(files))
	for i, f := range files {
		parts[i] = fmt.Sprintf("%s:%o:%s", f.Target, f.Mode, f.Version)
	}
	return strings.Join(parts, ",")
}

// CheckSecretFile refuses a secret file name that could leave the
// directory it is written to (the server checks it too).
func CheckSecretFile(f api.SecretFile) error {
	if f.Target == "" || f.Target == "." || f.Target == ".." || strings.ContainsAny(f.Target, "/\\\x00") {
		return fmt.Errorf("secret file name %q is not a plain file name", f.Target)
	}
	if f.Mode&^0o777 != 0 {
		return fmt.Errorf("secret file %s: mode %#o has more than permission bits", f.Target, f.Mode)
	}
	return nil
}

// State is what a driver observes of a container.
type State string

// Driver-level states.
const (
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Status is a driver's view of one container.
type Status struct {
	ID       string
	State    State
	PID      int // the main process while running; 0 when exited or when there is none
	HostPort int // the dynamic host port handed to the workload in PORT, or the first published port
	Ports    []api.PortBinding
	// DriverID is the driver's own ID (the Docker container ID), if any.
	DriverID string
	// ExitCode is the exit code once State is exited: 128+n when killed by
	// signal n, as shells report it; -1 when unknown (see Error).
	ExitCode   int
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string // why it exited or failed to start, if known
}

// LogOptions selects what Logs returns.
type LogOptions struct {
	// Follow keeps streaming until ctx ends or the container has exited and
	// all its output is written; either way Logs then returns nil.
	Follow bool
	Tail   int // only the last N lines; 0 means all
}

// Driver runs containers on one node. Every method is safe for concurrent
// use. Every method given an ID the driver does not know returns an error
// wrapping ErrNotFound.
type Driver interface {
	// Name is the driver's name: "exec", "docker", "fake".
	Name() string
	// Start creates and starts a run of spec.ID and returns once it runs.
	// Starting an ID that already runs returns its status unchanged;
	// starting an ID whose last run exited starts a new run (its logs are
	// kept and appended to). When Start fails for an ID the driver did not
	// know, it leaves nothing behind.
	Start(ctx context.Context, spec Spec) (Status, error)
	// Wait blocks until the container exits and returns its final status.
	// If ctx ends first it returns ctx's error (wrapped) and the status so
	// far.
	Wait(ctx context.Context, id string) (Status, error)
	// Stop asks the container to stop, then kills it (the whole process
	// group, for exec) after timeout, and returns once it is gone. Stopping
	// an exited container does nothing.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove forgets a container and its logs, stopping it first (with a
	// short timeout) if it still runs.
	Remove(ctx context.Context, id string) error
	// Inspect returns the current status.
	Inspect(ctx context.Context, id string) (Status, error)
	// List returns every container this driver made on this node, running
	// or exited but not removed, sorted by ID. A driver that can adopt (exec)
	// lists what an earlier instance on the same node made too: that is how
	// an agent finds its containers again after a restart.
	List(ctx context.Context) ([]Status, error)
	// Logs writes the container's output (stdout and stderr) to w.
	Logs(ctx context.Context, id string, opts LogOptions, w io.Writer) error
}

// ErrNotFound means the driver knows no container of that ID.
var ErrNotFound = errors.New("container not found")
