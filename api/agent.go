package api

import "time"

// The agent protocol. An agent joins once over HTTPS (POST /v1/join), then
// holds one mTLS connection to the server's agent gateway, multiplexed with
// yamux; both sides speak HTTP/1.1 over its streams:
//
//	agent -> server  POST /agent/v1/hello      AgentHello -> Node
//	agent -> server  POST /agent/v1/heartbeat  (empty) -> 204
//	agent -> server  POST /agent/v1/status     StatusReport -> 204
//	agent -> server  POST /agent/v1/renew      RenewRequest -> RenewResponse
//	agent -> server  POST /agent/v1/overlay    OverlayReport -> 204
//	agent -> server  POST /agent/v1/relay      relayed overlay frames, both ways (internal/relay/wire)
//	server -> agent  PUT  /agent/v1/assignments Assignments -> 204
//	                 (409 a delta keeps a container the agent lacks: the
//	                 full set follows)
//	server -> agent  PUT  /agent/v1/network    NetworkState -> 204
//	                 (404 from an agent without the overlay: it is not sent again)
//	server -> agent  GET  /agent/v1/containers/{id}/logs?follow=1&tail=N -> text
//	server -> agent  POST /agent/v1/containers/{id}/exec ExecRequest -> ExecResult
//	                 (404 unknown container, 409 not running, 501 its driver cannot exec)
//	server -> agent  POST /agent/v1/builds  NodeBuildRequest line + tar -> output
//	                 (403 the agent was not started with --allow-builds; see builds.go)
//
// An error, either way, is an ErrorBody with the REST API's codes (and
// CodeNotImplemented for a driver that cannot exec); a side reads an answer
// without one (a peer of an earlier version answered plain text) by its
// status.
//
// The node's identity is the common name of its client certificate; nothing
// in a body can claim another node's identity. A certificate signed by the
// cluster CA for a node that no longer exists (or is Terminated) gets a
// session whose every request is answered 403 with code CodeNodeRemoved.

// JoinRequest is the body of POST /v1/join.
type JoinRequest struct {
	Token    string            `json:"token"`
	CSR      string            `json:"csr"` // PEM certificate signing request
	Hostname string            `json:"hostname"`
	Labels   map[string]string `json:"labels,omitempty"`
	// NodeID, when set, rejoins as an existing node (its data dir survived).
	// The join token alone does not allow that: the request must come over
	// a TLS connection whose client certificate is that node's current (or
	// previous) certificate, which proves the joiner holds the node's key.
	NodeID string `json:"node_id,omitempty"`
}

// JoinResponse answers a join: the node's identity and certificate, and
// where to connect.
type JoinResponse struct {
	NodeID      string `json:"node_id"`
	Certificate string `json:"certificate"` // PEM
	CA          string `json:"ca"`          // PEM
	Gateway     string `json:"gateway"`     // host:port of the agent gateway
}

// AgentHello is what an agent says when its session opens: its facts and
// every container its drivers run (for adoption and reconciliation).
type AgentHello struct {
	Hostname  string   `json:"hostname"`
	Addresses []string `json:"addresses,omitempty"`
	// OverlayAddress is the underlay address of the node's VXLAN devices;
	// empty when the agent runs no overlay (see Node.OverlayAddress).
	OverlayAddress string `json:"overlay_address,omitempty"`
	// Address is where routers and other nodes reach this node's
	// published ports (see Node.Address).
	Address string `json:"address,omitempty"`
	// WitnessPort is the port the agent's witness listener listens on (0:
	// none): other nodes' agents ask it there whether this node hears the
	// server (see Assignments.Witnesses).
	WitnessPort int    `json:"witness_port,omitempty"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel,omitempty"`
	DiskBytes   int64  `json:"disk_bytes,omitempty"`
	// EngineVersion is the Docker Engine's version, when one answers.
	EngineVersion string `json:"engine_version,omitempty"`
	// Time is the agent's clock when it sent the hello (clock offset).
	Time         time.Time `json:"time,omitzero"`
	Arch         string    `json:"arch"`
	CPUs         int       `json:"cpus"`
	MemoryBytes  int64     `json:"memory_bytes"`
	AgentVersion string    `json:"agent_version"`
	Drivers      []string  `json:"drivers"`
	// AllowBuilds says the agent was started with --allow-builds: it
	// builds images the server sends it (POST /agent/v1/builds).
	AllowBuilds bool              `json:"allow_builds,omitempty"`
	Containers  []ContainerReport `json:"containers,omitempty"`
	// Features are the optional parts of the protocol the agent speaks
	// (the Feature* constants). The gateway uses none the agent did not
	// name, so an agent of an earlier version, which names none, is
	// spoken to as before; a name the gateway does not know is ignored.
	Features []string `json:"features,omitempty"`
}

// FeatureDeltaAssignments says the agent takes assignments as deltas
// (Assignments.Delta). Without it, every push is a full set.
const FeatureDeltaAssignments = "delta-assignments"

// ContainerReport is the status of one container as its agent sees it.
type ContainerReport struct {
	ID     string          `json:"id"`
	Status ContainerStatus `json:"status"`
}

// StatusReport batches container status changes.
type StatusReport struct {
	Containers []ContainerReport `json:"containers"`
}

// Assignments is the full set of containers the server wants on a node, as
// of a store revision. The agent converges on it: it starts what is missing,
// and stops what is no longer listed or no longer desired Running.
//
// To an agent that said FeatureDeltaAssignments, the gateway may send the
// set as a delta from the last set the agent accepted (answered 2xx) over
// the same session: the first push of a session is always full. The set
// is then Containers (those new to the agent or whose Spec or Name
// changed since) and the containers named in Kept, which the agent keeps
// from its own copy; a container it had that is in neither is no longer
// assigned, as with a full set. A kept copy's Status may be older than
// the store's, which does not matter: that Status comes from the agent's
// own reports, and the agent takes from it what it did not count itself
// (the last state, run and restart counts) only when the container is
// new to it, and otherwise never goes below its own counts.
// An agent that lacks a container Kept names answers 409 and changes
// nothing; the gateway then sends the full set. Every other field is
// whole in a delta too.
type Assignments struct {
	Revision   int64       `json:"revision"`
	Containers []Container `json:"containers"`
	// Delta says Containers holds only what changed and Kept names the
	// set's other containers (see above).
	Delta bool `json:"delta,omitempty"`
	// Kept are the IDs of the containers of the set the agent keeps from
	// its copy; only in a delta.
	Kept []string `json:"kept,omitempty"`
	// Secrets are the secret files of the set's containers (kept ones
	// too) that use secrets, by container ID. A node receives only its
	// own containers' secrets; the agent keeps them in memory and hands
	// them to drivers.
	Secrets map[string][]SecretFile `json:"secrets,omitempty"`
	// RegistryAuths are the credentials for the registries the images of
	// the set's containers (kept ones too) come from, by registry host
	// ("host:port", "docker.io" for Docker Hub). A node receives only
	// those.
	RegistryAuths map[string]RegistryAuth `json:"registry_auths,omitempty"`
	// RegistryHost is host:port of the server's built-in registry: an
	// agent whose node runs the docker driver makes its engine trust it
	// (/etc/docker/certs.d/<host>/: the cluster CA, and the node's
	// certificate as the client certificate).
	RegistryHost string `json:"registry_host,omitempty"`
	// FenceAfterMS is how long the agent may go without an acknowledged
	// heartbeat before it stops its FenceOnLoss containers, unless its
	// witnesses say the server itself is down (0: never). The server
	// replaces a lost node's containers later than that (its node-loss
	// grace), so a node that is only cut off has stopped its copies first.
	FenceAfterMS int64 `json:"fence_after_ms,omitempty"`
	// Witnesses are a few other Deployed nodes whose agents this agent
	// asks, before fencing, how long ago they heard the server.
	Witnesses []Witness `json:"witnesses,omitempty"`
	// Askers are the node IDs whose agents may ask this one (the nodes
	// that have it among their Witnesses); its witness listener refuses
	// every other certificate.
	Askers []string `json:"askers,omitempty"`
}

// Witness is another node's witness listener.
type Witness struct {
	Node    string `json:"node"`    // node ID: the CN its certificate must carry
	Address string `json:"address"` // host:port
}

// RenewRequest is the body of POST /agent/v1/renew: a CSR for a new key.
// The gateway signs it for the session's node (whatever the CSR names),
// stores the new serial as the node's CertSerial (from then on the old
// certificate opens no session) and keeps the live session open.
type RenewRequest struct {
	CSR string `json:"csr"` // PEM certificate signing request
}

// RenewResponse answers a renewal with the new certificate.
type RenewResponse struct {
	Certificate string `json:"certificate"` // PEM
}

// CodeNodeRemoved is the error code the gateway answers an agent's hello
// with when the agent's node no longer exists (or is Terminated): the agent
// stops and removes its containers and exits; to rejoin, delete its data
// dir and join again.
const CodeNodeRemoved = "node_removed"

// ExecRequest runs a command in a running container: the body of POST
// /v1/containers/{id}/exec and of the agent's exec route.
type ExecRequest struct {
	Cmd []string `json:"cmd"`
}

// ExecResult is what the command printed (stdout and stderr together, at
// most MaxExecOutput bytes, then a truncation note) and its exit code.
type ExecResult struct {
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output"`
}

// MaxExecOutput bounds the output an exec returns.
const MaxExecOutput = 1 << 20

// The heartbeat stream: the agent's heartbeats on one stream of its
// session for as long as the session lasts, rather than a request each.
//
//	agent -> server  POST /agent/v1/heartbeats  (Connection: Upgrade, Upgrade: wharf-heartbeats)
//	                 -> 101, then: the agent writes HeartbeatByte, the server
//	                 does what POST /agent/v1/heartbeat does and writes
//	                 HeartbeatAckByte; again, once per heartbeat
//
// Any other byte ends the stream. A server that answers 404 or 405 does
// not have it (an earlier version): the agent sends POST
// /agent/v1/heartbeat instead.
const (
	HeartbeatsPath    = "/agent/v1/heartbeats"
	HeartbeatsUpgrade = "wharf-heartbeats"
	HeartbeatByte     = 'h'
	HeartbeatAckByte  = 'a'
)
