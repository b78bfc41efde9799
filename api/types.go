// Package api holds Wharf's wire types: the JSON objects that the REST API,
// the CLI and the agent protocol exchange, and the error codes they carry.
// It must never import anything from internal/: the server converts at its
// edge, and outside programs may import this package alone.
package api

import (
	"strconv"
	"strings"
	"time"
)

// Meta is common to every stored object. ID and CreatedAt are set by the
// server on create and never change; Revision is the store revision of the
// object's last write (filled on read, never stored) and is what an update
// must present for its compare-and-swap.
type Meta struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Org is the organization the object belongs to; "" (every object
	// made before organizations existed) is the organization "default".
	Org       string    `json:"org,omitempty"`
	Revision  int64     `json:"revision,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// GetMeta lets generic code reach the Meta of any object.
func (m *Meta) GetMeta() *Meta { return m }

// NodeState is a node's place in Docker Cloud's node lifecycle.
type NodeState string

// Node states.
const (
	NodeDeploying   NodeState = "Deploying"
	NodeDeployed    NodeState = "Deployed"
	NodeUnreachable NodeState = "Unreachable"
	NodeUpgrading   NodeState = "Upgrading"
	NodeTerminating NodeState = "Terminating"
	NodeTerminated  NodeState = "Terminated"
)

// NodeAvailability says what the scheduler may do with a node, apart from
// its lifecycle State (Swarm's node availability): active, it takes new
// containers; paused, it takes none but keeps what it runs; draining, it
// takes none and the service controller moves its services' containers
// elsewhere (docs/scheduling.md). A node stored without one ("", as every
// node before availability was) is active.
type NodeAvailability string

// Node availabilities.
const (
	AvailabilityActive NodeAvailability = "active"
	AvailabilityPause  NodeAvailability = "pause"
	AvailabilityDrain  NodeAvailability = "drain"
)

// Node is one host running a Wharf agent. Labels are the user's (set at join,
// later by `wharf node label`); everything else is reported by the agent or
// decided by the server.
type Node struct {
	Meta
	Labels map[string]string `json:"labels,omitempty"`
	State  NodeState         `json:"state"`
	// Availability is set by `wharf node drain|pause|activate`
	// (lifecycle.SetAvailability); "" is active (Available).
	Availability NodeAvailability `json:"availability,omitempty"`
	// Facts the agent reports when it connects.
	Hostname  string   `json:"hostname,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	// OverlayAddress is the underlay address the node's VXLAN devices use
	// (the agent's --overlay-address, else the local address of its
	// session); empty when the node runs no overlay.
	OverlayAddress string `json:"overlay_address,omitempty"`
	// Address is where routers and other nodes reach this node's
	// published ports: the agent's --advertise-address, else the local
	// address of its connection to the server.
	Address string `json:"address,omitempty"`
	// WitnessPort is the port of the agent's witness listener on Address
	// (0: none); see Assignments.Witnesses.
	WitnessPort int `json:"witness_port,omitempty"`
	// OverlayRelayed are the nodes (IDs) whose VXLAN port this node does
	// not reach, so that traffic between them is relayed (its agent says).
	OverlayRelayed []string `json:"overlay_relayed,omitempty"`
	OS             string   `json:"os,omitempty"`
	Kernel         string   `json:"kernel,omitempty"`
	Arch           string   `json:"arch,omitempty"`
	CPUs           int      `json:"cpus,omitempty"`
	MemoryBytes    int64    `json:"memory_bytes,omitempty"`
	DiskBytes      int64    `json:"disk_bytes,omitempty"` // size of the agent's data dir's filesystem
	AgentVersion   string   `json:"agent_version,omitempty"`
	// EngineVersion is the Docker Engine's version when the docker driver runs.
	EngineVersion string `json:"engine_version,omitempty"`
	// ClockOffset is the agent's clock minus the server's, in milliseconds,
	// as measured at its last hello.
	ClockOffsetMS int64    `json:"clock_offset_ms,omitempty"`
	Drivers       []string `json:"drivers,omitempty"`
	// AllowBuilds says the node's agent builds images on request (it was
	// started with --allow-builds): the server may send it the build
	// context of a user's `wharf stack deploy` that has no engine.
	AllowBuilds bool `json:"allow_builds,omitempty"`
	// LastSeen is the last heartbeat the server wrote down; heartbeats are kept
	// in memory, so this moves only on state transitions and connects.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// DrainWaiting says, one line per reason, what the drain of a
	// Terminating or draining node waits for: its containers whose
	// replacement cannot be placed (and why), is still starting elsewhere,
	// or waits on a dependency, and those its agent has yet to stop. The
	// service controller keeps it; empty for any other node.
	DrainWaiting string `json:"drain_waiting,omitempty"`
	// CertSerial is the serial of the node's current certificate.
	CertSerial string `json:"cert_serial,omitempty"`
	// PrevCertSerial is the certificate a renewal replaced. It still opens
	// a session, in case the renewal's answer never reached the agent; the
	// next renewal or a rejoin retires it.
	PrevCertSerial string `json:"prev_cert_serial,omitempty"`
}

// Available is the node's availability, AvailabilityActive for one
// stored without any.
func (n *Node) Available() NodeAvailability {
	if n.Availability == "" {
		return AvailabilityActive
	}
	return n.Availability
}

// Draining says the node's containers are to move elsewhere: it is
// Terminating (node rm) or its availability is drain.
func (n *Node) Draining() bool {
	return n.State == NodeTerminating || n.Availability == AvailabilityDrain
}

// ServiceState is a service's place in Docker Cloud's service lifecycle.
type ServiceState string

// Service states.
const (
	ServiceNotRunning    ServiceState = "Not running"
	ServiceStarting      ServiceState = "Starting"
	ServiceRunning       ServiceState = "Running"
	ServicePartlyRunning ServiceState = "Partly running"
	ServiceScaling       ServiceState = "Scaling"
	ServiceRedeploying   ServiceState = "Redeploying"
	ServiceStopping      ServiceState = "Stopping"
	ServiceStopped       ServiceState = "Stopped"
	ServiceTerminating   ServiceState = "Terminating"
	ServiceTerminated    ServiceState = "Terminated"
	// ServiceFailing: some slot's container of the current generation
	// keeps failing (see ServiceStatus.FailingContainers) and not every
	// slot runs.
	ServiceFailing ServiceState = "Failing"
)

// Strategy names a deployment strategy.
const (
	StrategyEmptiestNode     = "EMPTIEST_NODE"
	StrategyHighAvailability = "HIGH_AVAILABILITY"
	StrategyEveryNode        = "EVERY_NODE"
	StrategySpread           = "spread"
	StrategyBinpack          = "binpack"
	StrategyRandom           = "random"
)

// Autorestart and autodestroy policies.
const (
	PolicyOff       = "OFF"
	PolicyOnFailure = "ON_FAILURE"
	PolicyAlways    = "ALWAYS"
	PolicyOnSuccess = "ON_SUCCESS"
)

// ServiceSpec is what the user asks for. The system never writes it.
type ServiceSpec struct {
	// Image runs the service with the docker driver; Command alone runs it
	// with the exec driver. (The docker driver lands in a later issue.)
	Image   string   `json:"image,omitempty"`
	Command []string `json:"command,omitempty"`
	// PullPolicy says when a node pulls Image: missing (default), always,
	// never or build (see PullPolicies).
	PullPolicy string `json:"pull_policy,omitempty"`
	// Entrypoint overrides the image's entrypoint (docker driver).
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Ports to publish on the node. HostPort 0 picks a free port.
	Ports []PortSpec `json:"ports,omitempty"`
	// NetworkMode is Docker's: bridge (the default, ""), host or none.
	// The overlay networks are Networks, beside it (bridge only).
	NetworkMode string `json:"network_mode,omitempty"`
	// Expose lists container ports that are not published (compose's
	// expose, Dockerfile's EXPOSE); PublishAll publishes them, and the
	// image's, on free host ports (docker's -P).
	Expose     []PortSpec `json:"expose,omitempty"`
	PublishAll bool       `json:"publish_all,omitempty"`
	// TTY gives each container a terminal (docker's --tty); Interactive
	// keeps its standard input open for a client to attach to and write
	// (docker's --interactive: the engine's OpenStdin and StdinOnce, so
	// that the input ends when the first attached client's does). Docker
	// driver only.
	TTY         bool `json:"tty,omitempty"`
	Interactive bool `json:"interactive,omitempty"`
	// Routes are the ways in through the routers (see route.go), with
	// RouteOptions for all of them.
	Routes       []Route      `json:"routes,omitempty"`
	RouteOptions RouteOptions `json:"route_options,omitzero"`
	// Resources limits each container.
	Resources Resources `json:"resources,omitzero"`
	// Driver, when set, names the driver that must run the service
	// ("exec", "docker" or "fake"); otherwise DriverName decides.
	Driver   string            `json:"driver,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	Replicas int               `json:"replicas"`
	// Tags: a node must carry every one of them as a label ("k=v" or "k").
	Tags []string `json:"tags,omitempty"`
	// Strategy ranks the nodes that pass every filter: EMPTIEST_NODE
	// (default), HIGH_AVAILABILITY, EVERY_NODE, spread, binpack, random.
	Strategy string `json:"strategy,omitempty"`
	// Constraints on node labels and facts, Swarm classic's syntax:
	// "node.labels.zone==external", "disk!=hdd", "region==eu-*", "/re/",
	// soft "==~" / "!=~".
	Constraints []string `json:"constraints,omitempty"`
	// Affinities to containers, services and images, e.g. "service==db",
	// "service!=web" (one per node), "image==redis", soft with "~".
	Affinities []string `json:"affinities,omitempty"`
	// Reservations are what each container needs of a node's resources.
	Reservations Resources `json:"reservations,omitzero"`
	// Autorestart: OFF (default), ON_FAILURE or ALWAYS.
	Autorestart string `json:"autorestart,omitempty"`
	// Autodestroy: OFF (default), ON_SUCCESS or ALWAYS (needs autorestart OFF).
	Autodestroy string `json:"autodestroy,omitempty"`
	// StopAfterDisconnect, when > 0, makes an agent cut off from the server
	// for this many seconds stop the service's containers (at most once).
	StopAfterDisconnect int `json:"stop_after_disconnect,omitempty"`
	// Running is the user's wish: true after create and start, false after stop.
	Running bool `json:"running"`
	// Healthcheck, when set, decides when a container is ready.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// Update says how containers are replaced on an update or redeploy.
	Update UpdateConfig `json:"update,omitzero"`
	// Rollback says how they are replaced when an update to this spec
	// fails and rolls back (SwarmKit's rollback_config): parallelism,
	// delay, order and monitor; a rollback never pauses or rolls back
	// again, so its failure settings are not used. Nil: as Update.
	Rollback *UpdateConfig `json:"rollback,omitempty"`
	// Sequential starts containers one at a time, each after the one
	// before is ready.
	Sequential bool `json:"sequential,omitempty"`
	// Links to other services, "db" or "db:alias": each container gets
	// Compose-style variables (DB_1_PORT_5432_TCP_ADDR, ...) at creation.
	Links []string `json:"links,omitempty"`
	// DependsOn holds new containers until other services are in a
	// condition (Compose's depends_on, honoured across nodes).
	DependsOn []Dependency `json:"depends_on,omitempty"`
	// Volumes mount into each container (docker driver). A named volume is
	// per slot: the controller names it "<service>-<slot>-<source>", so a
	// slot finds its data again when it is replaced on the same node.
	Volumes []VolumeMount `json:"volumes,omitempty"`
	// Labels are put on each container, beside Wharf's own.
	Labels map[string]string `json:"labels,omitempty"`
	// Networks the service joins, by name (the organization's networks;
	// see network.go); none is the organization's default network.
	Networks []string `json:"networks,omitempty"`
	// Secrets are mounted into each container as read-only files (see
	// SecretRef). Only the nodes that run its containers receive them.
	Secrets []SecretRef `json:"secrets,omitempty"`
	// Standalone marks the service of a container made through the Docker
	// API (`docker run`, `docker create`): it has one replica, its one
	// container is named as the service (not "<service>-1"), its named
	// volumes are not made per slot, and it is not run again elsewhere
	// when its node fails unless Reschedule says so.
	Standalone bool `json:"standalone,omitempty"`
	// Reschedule is a standalone service's reschedule policy (Swarm
	// classic's): "" or RescheduleOff keeps its container on its node
	// when the node fails; RescheduleOnNodeFailure runs it again on
	// another node, as any service's.
	Reschedule string `json:"reschedule,omitempty"`
}

// Reschedule policies of a standalone service.
const (
	RescheduleOff           = "off"
	RescheduleOnNodeFailure = "on-node-failure"
)

// Volume types.
const (
	VolumeNamed = "volume"
	VolumeBind  = "bind"
)

// VolumeMount is a named volume or a bind mount of a host path.
type VolumeMount struct {
	Type     string `json:"type"`             // volume or bind
	Source   string `json:"source,omitempty"` // volume name, or an absolute host path
	Target   string `json:"target"`           // absolute path in the container
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Port publishing modes (compose's long syntax).
const (
	PortModeHost    = "host"    // on the node that runs the container (default)
	PortModeIngress = "ingress" // on every router node, balanced across the service
)

// PortSpec publishes a container port on the node.
type PortSpec struct {
	ContainerPort int    `json:"container_port"`
	HostPort      int    `json:"host_port,omitempty"` // 0: a free port
	Protocol      string `json:"protocol,omitempty"`  // tcp (default) or udp
	// HostIP is the node address to publish on ("": all of them).
	HostIP string `json:"host_ip,omitempty"`
	// Mode is host ("", the default) or ingress: an ingress port is not
	// published on the container's node but becomes a tcp route of the
	// service, HostPort on every router node (tcp only).
	Mode string `json:"mode,omitempty"`
}

// PortBinding is a published port as the driver made it.
type PortBinding struct {
	ContainerPort int    `json:"container_port"`
	HostPort      int    `json:"host_port"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"host_ip,omitempty"` // "" or 0.0.0.0: every address
}

// Resources are per-container limits; zero means none.
type Resources struct {
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	NanoCPUs    int64 `json:"nano_cpus,omitempty"` // 1e9 is one CPU
}

// Drivers a service may name.
var Drivers = []string{"exec", "docker", "fake"}

// DriverName is the driver that runs the service: Driver if set, else
// "docker" for an image and "exec" for a bare command.
func (s ServiceSpec) DriverName() string {
	switch {
	case s.Driver != "":
		return s.Driver
	case s.Image != "":
		return "docker"
	default:
		return "exec"
	}
}

// ServiceStatus is what the system observes of a service.
type ServiceStatus struct {
	State ServiceState `json:"state"`
	// RunningContainers counts ready containers: Running and, when the
	// service has a health check, healthy.
	RunningContainers int `json:"running_containers"`
	// Synchronized: every container runs the current definition.
	Synchronized bool `json:"synchronized"`
	// UpdateState is the last rollout's: updating, paused, rolling_back,
	// completed or rolled_back; UpdateGeneration is the generation it is about.
	UpdateState      string `json:"update_state,omitempty"`
	UpdateGeneration int    `json:"update_generation,omitempty"`
	UpdateMessage    string `json:"update_message,omitempty"`
	// UpdateStartedAt is when the last rollout started (a rollback is
	// part of the rollout it undoes); UpdateEndedAt when it completed or
	// rolled back, zero while it goes on or is paused.
	UpdateStartedAt time.Time `json:"update_started_at,omitzero"`
	UpdateEndedAt   time.Time `json:"update_ended_at,omitzero"`
	// Pending holds, one per line, why some slots have no container yet:
	// they cannot be placed, or they wait on a dependency (depends_on).
	Pending string `json:"pending,omitempty"`
	// FailingContainers counts the slots whose container, of the
	// service's current generation, failed: its last run failed to start
	// or exited with an error (ContainerStatus.Failed), it is restarting
	// after an exit, or it runs unhealthy. LastError is the error of the
	// latest such failure (ContainerStatus.LastError), kept while some
	// slot still fails.
	FailingContainers int    `json:"failing_containers,omitempty"`
	LastError         string `json:"last_error,omitempty"`
}

// Service is a replicated workload.
type Service struct {
	Meta
	Spec   ServiceSpec   `json:"spec"`
	Status ServiceStatus `json:"status"`
	// Stack is the ID of the stack that made the service; empty for one
	// made on its own. Such a service is changed through its stack.
	Stack string `json:"stack,omitempty"`
	// Terminating is set by `service rm`: the controller stops and deletes every
	// container, then deletes the service.
	Terminating bool `json:"terminating,omitempty"`
	// RestartGeneration is the generation the containers must have; it is
	// raised by restart, redeploy and a spec update, and the controller
	// replaces every container of another generation per Spec.Update.
	RestartGeneration int `json:"restart_generation,omitempty"`
	// PreviousSpec and PreviousGeneration are what the last spec update
	// replaced: a failed rollout rolls back to them (the controller then
	// swaps them with Spec and RestartGeneration).
	PreviousSpec       *ServiceSpec `json:"previous_spec,omitempty"`
	PreviousGeneration int          `json:"previous_generation,omitempty"`
	// ResolvedImage is Spec.Image pinned to the digest its registry held
	// when the spec was created or its image or pull policy changed, or
	// the service was redeployed: "<Spec.Image>@sha256:...". New
	// containers run it, so every node pulls the same digest. Written by
	// the server only; "" when nothing was resolved (pull policy never,
	// an image already by digest, the exec and fake drivers).
	ResolvedImage string `json:"resolved_image,omitempty"`
	// PreviousResolvedImage is PreviousSpec's: a rollback runs it again.
	PreviousResolvedImage string `json:"previous_resolved_image,omitempty"`
}

// RunImage is the image new containers of s run: ResolvedImage when it
// pins the current Spec.Image, else Spec.Image.
func (s *Service) RunImage() string {
	if s.ResolvedImage != "" && strings.HasPrefix(s.ResolvedImage, s.Spec.Image+"@") {
		return s.ResolvedImage
	}
	return s.Spec.Image
}

// NextGeneration is the generation a new rollout gets.
func (s *Service) NextGeneration() int { return max(s.RestartGeneration, s.PreviousGeneration) + 1 }

// ContainerState is a container's place in its lifecycle. Within one run a
// container only moves forward through these states.
type ContainerState string

// Container states, in order.
const (
	ContainerPending     ContainerState = "Pending"
	ContainerStarting    ContainerState = "Starting"
	ContainerRunning     ContainerState = "Running"
	ContainerStopping    ContainerState = "Stopping"
	ContainerStopped     ContainerState = "Stopped"
	ContainerTerminating ContainerState = "Terminating"
	ContainerTerminated  ContainerState = "Terminated"
)

// ContainerSpec is what the controllers decide for one slot: which node runs
// it and whether it should run. Written by the server only.
type ContainerSpec struct {
	Service string `json:"service"` // service ID
	Slot    int    `json:"slot"`
	Node    string `json:"node,omitempty"` // node ID; empty while unplaced
	// Image is the service's image, pinned to the digest the server
	// resolved ("host/repo:tag@sha256:..."; see Service.ResolvedImage)
	// when it resolved one.
	Image string `json:"image,omitempty"`
	// PullPolicy is the service's (api.PullPolicies): when the node pulls
	// Image.
	PullPolicy string            `json:"pull_policy,omitempty"`
	Command    []string          `json:"command,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Ports      []PortSpec        `json:"ports,omitempty"`
	Resources  Resources         `json:"resources,omitzero"`
	Driver     string            `json:"driver"`
	// NetworkMode, Expose and PublishAll are the service's.
	NetworkMode string     `json:"network_mode,omitempty"`
	Expose      []PortSpec `json:"expose,omitempty"`
	PublishAll  bool       `json:"publish_all,omitempty"`
	// TTY and Interactive are the service's.
	TTY         bool `json:"tty,omitempty"`
	Interactive bool `json:"interactive,omitempty"`
	// RouteDrainMS, set when the service has routes, is how long the
	// agent keeps the container running after its desired state leaves
	// Running, before it stops it: the routers drop it first.
	RouteDrainMS int `json:"route_drain_ms,omitempty"`
	// Desired is Running while the slot should run, Stopped when the service
	// is stopped, Terminated when the slot is to be removed.
	Desired ContainerState `json:"desired"`
	// Autorestart, Autodestroy and StopAfterDisconnect are the service's,
	// copied when the container is created: the agent restarts an exited
	// container per Autorestart (OFF when empty) and stops it after being
	// cut off from the server for StopAfterDisconnect seconds (0: never).
	Autorestart         string `json:"autorestart,omitempty"`
	Autodestroy         string `json:"autodestroy,omitempty"`
	StopAfterDisconnect int    `json:"stop_after_disconnect,omitempty"`
	// FenceOnLoss marks a container the server runs elsewhere when its
	// node is lost (a replicated service's slot, a standalone container
	// with reschedule on-node-failure; never EVERY_NODE): the agent stops
	// it when it finds itself cut off from the server (self-fencing, see
	// Assignments.FenceAfterMS), before the server starts the replacement.
	FenceOnLoss bool `json:"fence_on_loss,omitempty"`
	// Generation is the service's RestartGeneration when the container was
	// created; one of another generation is replaced by a rollout.
	Generation int `json:"generation,omitempty"`
	// Healthcheck is the service's, copied at creation; the agent runs it.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// Volumes are the service's, with each named volume's source made
	// per slot ("<service>-<slot>-<source>"); Labels are the service's.
	Volumes []VolumeMount     `json:"volumes,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Destroyed marks a container that autodestroy terminated: it keeps its
	// slot empty until the service is stopped and started, or restarted.
	Destroyed bool `json:"destroyed,omitempty"`
	// Secrets are the service's secret refs, copied at creation; the
	// gateway sends their values with the node's assignments.
	Secrets []SecretRef `json:"secrets,omitempty"`
	// Networks are the container's addresses, one per network its service
	// joins; the slot keeps them across replacements.
	Networks []NetworkAttachment `json:"networks,omitempty"`
}

// ContainerStatus is what the node's agent reports.
type ContainerStatus struct {
	State    ContainerState `json:"state"`
	PID      int            `json:"pid,omitempty"`
	HostPort int            `json:"host_port,omitempty"` // the first published (or PORT) port
	Ports    []PortBinding  `json:"ports,omitempty"`
	// DriverID is the driver's own ID of the run (the Docker container ID).
	DriverID     string    `json:"driver_id,omitempty"`
	ExitCode     *int      `json:"exit_code,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	RestartCount int       `json:"restart_count,omitempty"`
	// Run numbers the container's runs: its agent raises it at every
	// start, counting on from the stored one (the assignments carry it), so
	// that the gateway drops a report of an older run, or of an earlier
	// state of the same run (internal/lifecycle.Stale). 0 is unknown: an
	// agent of an earlier version, or a run adopted before the server's
	// assignments came; such a report is taken as it is.
	Run int `json:"run,omitempty"`
	// Health is starting, healthy or unhealthy when the container has a
	// health check and runs; empty otherwise.
	Health string `json:"health,omitempty"`
	// Pulling is set while the node pulls the container's image (State is
	// Starting): the share of it downloaded, in percent (0-100). Lists
	// show the state as "Pulling 42%" then (see DisplayState).
	Pulling *int `json:"pulling,omitempty"`
}

// DisplayState is the state as lists show it: "Pulling 42%" while the
// image is pulled, else the state.
func (st ContainerStatus) DisplayState() string {
	if st.Pulling != nil && st.State == ContainerStarting {
		return "Pulling " + strconv.Itoa(*st.Pulling) + "%"
	}
	return string(st.State)
}

// Ready reports whether the container runs and, if it has a health check,
// is healthy.
func (c *Container) Ready() bool {
	return c.Status.State == ContainerRunning && (c.Spec.Healthcheck == nil || c.Status.Health == HealthHealthy)
}

// Failed reports whether the status records a run that failed: a start
// that failed (Stopped with a reason and no exit code, as the agent
// reports a missing command or image, or a driver's refusal), or the
// workload's own exit with a non-zero code (not 143 or 137, a stop's
// SIGTERM and SIGKILL, nor -1, an unknown end). A stop and a clean exit
// are not failures.
func (st ContainerStatus) Failed() bool {
	if st.State != ContainerStopped {
		return false
	}
	if st.ExitCode == nil {
		return st.Reason != ""
	}
	switch *st.ExitCode {
	case 0, 143, 137, -1:
		return false
	}
	return true
}

// LastError is the container's error as lists show it: the reason of a
// failed run ("exited with code N" when the driver gave none), or
// "unhealthy" for a running container whose health check fails; "" for
// any other.
func (st ContainerStatus) LastError() string {
	switch {
	case st.State == ContainerRunning && st.Health == HealthUnhealthy:
		return "unhealthy"
	case !st.Failed():
		return ""
	case st.Reason != "":
		return st.Reason
	}
	return "exited with code " + strconv.Itoa(*st.ExitCode)
}

// Container is one slot of a service: "web-3" is slot 3 of service web.
type Container struct {
	Meta
	Spec   ContainerSpec   `json:"spec"`
	Status ContainerStatus `json:"status"`
}

// Event is one state change, as streamed by GET /v1/events. ID is the store
// revision at which it was written and Seq its place among the events of that
// revision; Cursor() names the pair, and a client that resumes with
// ?since=<cursor> receives every later event exactly once.
type Event struct {
	ID     int64     `json:"id"`
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time,omitzero"`
	Kind   string    `json:"kind"` // node, service, container, token
	Object string    `json:"object"`
	// Org is the organization of the object ("" is "default"); only its
	// members see the event.
	Org   string `json:"org,omitempty"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type"` // created, updated, deleted, state
	State string `json:"state,omitempty"`
	// Message says in words what happened.
	Message string `json:"message,omitempty"`
}

// Cursor is the event's position in the stream, "<id>.<seq>".
func (e Event) Cursor() string { return strconv.FormatInt(e.ID, 10) + "." + strconv.Itoa(e.Seq) }

// Org is an organization: everything users make belongs to one. Its ID
// is its name.
type Org struct {
	Meta
	Quotas Quotas `json:"quotas"`
}

// Quotas bound what an organization may hold and how fast its tokens may
// call; 0 is no limit. Only the server's administrators set them.
type Quotas struct {
	// Containers is the most containers the organization's services may
	// ask for together (replicas summed; an EVERY_NODE service counts one
	// per node of the organization).
	Containers int `json:"containers,omitempty"`
	// Nodes is the most nodes that may join the organization.
	Nodes int `json:"nodes,omitempty"`
	// TokenRate is the most API calls per second each of the
	// organization's tokens may make (a burst of twice as many is let
	// through); more are refused with 429 and Retry-After.
	TokenRate float64 `json:"token_rate,omitempty"`
}

// Action is one mutating API call: Docker Cloud's audit trail.
type Action struct {
	Meta
	Who      string    `json:"who"`    // token name
	Method   string    `json:"method"` // HTTP method
	Path     string    `json:"path"`
	Kind     string    `json:"kind,omitempty"`
	Object   string    `json:"object,omitempty"`
	Status   int       `json:"status"`
	Result   string    `json:"result"` // Success or Failed
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Duration float64   `json:"duration_seconds"`
}

// Token is an API token. Only the SHA-256 hash of the secret is stored (in
// the server's own record of the token, never sent); the secret itself is
// shown once, in TokenCreated.
type Token struct {
	Meta
	// Role is RoleReadOnly, RoleDeploy or RoleAdmin; see EffectiveRole.
	Role string `json:"role"`
	// Admin is set exactly for admin tokens; tokens made before roles
	// other than admin and read-only existed have only it and Role.
	Admin bool `json:"admin"`
	// User is the user the token acts as ("" for a token of no user).
	User string `json:"user,omitempty"`
	// Team is the team whose robot token this is.
	Team string `json:"team,omitempty"`
	// ExpiresAt ends the token (zero: never).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Kind is TokenDockerCert for a Docker API client certificate
	// (`wharf docker-env`), "" for a bearer token.
	Kind string `json:"kind,omitempty"`
}

// TokenDockerCert is the Kind of a token that is a Docker API client
// certificate: its secret is the certificate's private key, which never
// leaves the client; the server keeps the hash of its public key.
const TokenDockerCert = "docker-cert"

// DefaultDockerCertTTL is how long a Docker API client certificate lasts
// when its request names no TTL.
const DefaultDockerCertTTL = 30 * 24 * time.Hour

// CreateTokenRequest asks for an API token (POST /v1/tokens). Role
// defaults to read-only for a token of no user, and to the caller's own
// access (no narrowing) for a user's or a team's token; "admin": true is
// the older way to ask for an admin token. Team makes a robot token of
// that team (organization owners only); TTL ("720h") makes it expire.
type CreateTokenRequest struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Admin bool   `json:"admin,omitempty"`
	Team  string `json:"team,omitempty"`
	TTL   string `json:"ttl,omitempty"`
	// CSR, a PEM certificate request, makes the token a Docker API client
	// certificate (Kind TokenDockerCert) for the CSR's key: the answer
	// carries the certificate and the cluster CA instead of a secret.
	// Its TTL defaults to DefaultDockerCertTTL.
	CSR string `json:"csr,omitempty"`
}

// User is a person who logs in. Its ID is its name; the password's hash
// is never sent.
type User struct {
	Meta
}

// CreateUserRequest makes a user (server administrators only).
type CreateUserRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// LoginRequest trades a user's name and password for an API token
// (POST /v1/login).
type LoginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// PasswordRequest changes the caller's password (POST /v1/me/password);
// server administrators may set another user's without Old
// (PUT /v1/users/{id}/password).
type PasswordRequest struct {
	Old string `json:"old,omitempty"`
	New string `json:"new"`
}

// CreateOrgRequest makes an organization and its owners team with Owner
// in it (server administrators only).
type CreateOrgRequest struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// OrgPatch changes an organization's quotas (server administrators only).
type OrgPatch struct {
	Quotas *Quotas `json:"quotas,omitempty"`
}

// OwnersTeam is the name of every organization's team of owners: it has
// every access, and always at least one member.
const OwnersTeam = "owners"

// Team is a group of users of one organization (Meta.Org) with an access
// level per area. Its ID is "<org>.<name>".
type Team struct {
	Meta
	// Access is a level name (none, read, read-write, admin) per area
	// (applications, nodes, secrets, registry, organization).
	Access map[string]string `json:"access"`
	// Members are user IDs (names).
	Members []string `json:"members"`
}

// TeamRequest makes a team (POST /v1/teams) or changes one
// (PATCH /v1/teams/{id}: only the fields sent change; Members replaces the
// list).
type TeamRequest struct {
	Name    string            `json:"name,omitempty"`
	Access  map[string]string `json:"access,omitempty"`
	Members *[]string         `json:"members,omitempty"`
}

// MemberRequest adds a user to a team (POST /v1/teams/{id}/members).
type MemberRequest struct {
	User string `json:"user"`
}

// Me answers GET /v1/me: who the caller is, where it acts, and the
// organizations it belongs to.
type Me struct {
	// Name is the user's name, or the token's for a token of no user.
	Name string `json:"name"`
	User string `json:"user,omitempty"`
	// Token is the ID of the token the call came with.
	Token string `json:"token,omitempty"`
	Role  string `json:"role,omitempty"`
	// Org is the organization the call acted in, Access what the caller
	// may do there (after the token's role).
	Org    string            `json:"org"`
	Access map[string]string `json:"access"`
	// ServerAdmin is set for the server's administrators.
	ServerAdmin bool         `json:"server_admin,omitempty"`
	Orgs        []Membership `json:"orgs,omitempty"`
}

// Membership is a user's place in one organization.
type Membership struct {
	Org    string            `json:"org"`
	Teams  []string          `json:"teams"`
	Access map[string]string `json:"access"`
}

// OrgHeader is the request header naming the organization a call acts
// in, for a user who belongs to several.
const OrgHeader = "Wharf-Org"

// API token roles, from least to most privilege.
const (
	// RoleReadOnly may only read (GET), and not the tokens.
	RoleReadOnly = "read-only"
	// RoleDeploy may also change services, stacks and containers, but not
	// exec into containers, nor change nodes, tokens or join tokens.
	RoleDeploy = "deploy"
	// RoleAdmin may do everything.
	RoleAdmin = "admin"
)

// Roles are the token roles, from least to most privilege.
var Roles = []string{RoleReadOnly, RoleDeploy, RoleAdmin}

// EffectiveRole is the role the server grants t: admin when Admin is set,
// deploy when Role says so, and read-only for anything else, so that a
// token whose role is unknown gets the least privilege.
func (t *Token) EffectiveRole() string {
	switch {
	case t.Admin:
		return RoleAdmin
	case t.Role == RoleDeploy:
		return RoleDeploy
	}
	return RoleReadOnly
}

// TokenCreated answers POST /v1/tokens: the only time the secret is shown.
type TokenCreated struct {
	Token
	Secret string `json:"secret"`
	// Certificate (PEM) is a Docker API client certificate's, and CA what
	// the Docker endpoint's server certificate chains to: the cluster CA,
	// or the anchor of the server's own --tls-cert chain.
	Certificate string `json:"certificate,omitempty"`
	CA          string `json:"ca,omitempty"`
	// DockerHost is the Docker endpoint's advertised host:port, for
	// DOCKER_HOST=tcp://... (with a certificate only).
	DockerHost string `json:"docker_host,omitempty"`
}

// List is one page of a list response. Next, when set, is the cursor to pass
// as ?cursor= for the following page.
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's machine-readable code and human message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error codes sent on the wire. Clients decide with these, never by text.
const (
	CodeInvalid      = "invalid"      // 400
	CodeUnauthorized = "unauthorized" // 401
	CodeForbidden    = "forbidden"    // 403
	CodeNotFound     = "not_found"    // 404
	CodeConflict     = "conflict"     // 409
	CodeTooLarge     = "too_large"    // 413
	CodeUnavailable  = "unavailable"  // 503
	CodeInternal     = "internal"     // 500
	CodeMethod       = "method_not_allowed"
	// CodeInsufficientStorage: the server's data dir is nearly full; writes
	// are refused until space returns, reads still work (507).
	CodeInsufficientStorage = "insufficient_storage"
	// CodeTooManyRequests: this address failed to authenticate (or to
	// join) too often and is refused for the Retry-After header's seconds
	// (429).
	CodeTooManyRequests = "too_many_requests"
	// CodeNotImplemented: the component cannot do this at all (501); an
	// agent answers it when its driver cannot exec. The REST API answers
	// that case 409 conflict.
	CodeNotImplemented = "not_implemented"
)

// JoinToken is a token that lets a new host join as a node. Like API tokens,
// only its secret's hash is stored; the whole token is shown once, when made.
// A join token only ever creates new nodes: each join that creates one uses
// it once. It stops working at ExpiresAt (zero: never), after MaxUses joins
// (0: no limit), or when deleted.
type JoinToken struct {
	Meta
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	MaxUses   int64     `json:"max_uses,omitempty"`
	// Uses is how many nodes joined with the token so far (the server
	// fills it in on read).
	Uses int64 `json:"uses"`
}

// JoinTokenRequest is the body of POST /v1/join-tokens. TTL is a Go
// duration ("24h", "30m"); empty means DefaultJoinTokenTTL and "0" a token
// that never expires. MaxUses 0 means no limit on uses.
type JoinTokenRequest struct {
	Rotate  bool   `json:"rotate,omitempty"`
	TTL     string `json:"ttl,omitempty"`
	MaxUses int64  `json:"max_uses,omitempty"`
}

// DefaultJoinTokenTTL is how long a join token lives when its request names
// no TTL: long enough to provision hosts over a working day, short enough
// that a token pasted into a ticket or a shell history is dead by the time
// anyone finds it.
const DefaultJoinTokenTTL = 24 * time.Hour

// JoinTokenCreated answers POST /v1/join-tokens: the only time the token
// itself is shown.
type JoinTokenCreated struct {
	JoinToken
	Token   string `json:"token"`
	Command string `json:"command"` // the command to run on a new host: the install one-liner, which pins the cluster CA
	// AgentCommand runs the agent on a host that has the wharf binary.
	AgentCommand string `json:"agent_command,omitempty"`
}

// Version describes a build of Wharf.
type Version struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}
