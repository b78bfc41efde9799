package api

// The agent's streaming calls, made by the server's Docker endpoint
// (docker exec, attach, top and stats; see docs/docker-api.md):
//
//	server -> agent  POST /agent/v1/containers/{id}/execs  StreamExecConfig -> StreamExecCreated
//	server -> agent  POST /agent/v1/execs/{eid}/start?tty=&detach=  (Upgrade: wharf-stream)
//	                 -> 101, then the engine's raw (tty) or multiplexed bytes both ways;
//	                 with detach=1: 204 once started
//	server -> agent  POST /agent/v1/execs/{eid}/resize?h=&w=  -> 204
//	server -> agent  GET  /agent/v1/execs/{eid}  -> StreamExecStatus
//	server -> agent  POST /agent/v1/containers/{id}/attach?stdin=&stdout=&stderr=&logs=&stream=
//	                 (Upgrade: wharf-stream) -> 101, then bytes as with exec
//	server -> agent  GET  /agent/v1/containers/{id}/top?ps_args=  -> StreamTop
//	server -> agent  GET  /agent/v1/containers/{id}/stats?stream=  -> the engine's stats JSON
//	                 (one object, or one per line while streaming)
//	server -> agent  POST /agent/v1/streams/{sid}/close  -> 204: end the stream whose
//	                 upgrade request carried X-Wharf-Stream: sid (its client went away)
//
// Errors are ErrorBody as for the other agent calls: 404 an unknown
// container or exec, 409 a container that does not run, 501 a driver
// that cannot do it.

// AgentStreamUpgrade is the Upgrade header of the agent's streaming calls.
const AgentStreamUpgrade = "wharf-stream"

// AgentStreamHeader names an upgraded stream, so that the server can end
// it (a yamux stream's close ends only its writing half).
const AgentStreamHeader = "X-Wharf-Stream"

// StreamExecConfig is an exec a Docker client asked for, as the engine
// takes it.
type StreamExecConfig struct {
	Cmd          []string `json:"cmd"`
	Env          []string `json:"env,omitempty"`
	WorkingDir   string   `json:"working_dir,omitempty"`
	User         string   `json:"user,omitempty"`
	Tty          bool     `json:"tty,omitempty"`
	AttachStdin  bool     `json:"attach_stdin,omitempty"`
	AttachStdout bool     `json:"attach_stdout,omitempty"`
	AttachStderr bool     `json:"attach_stderr,omitempty"`
	DetachKeys   string   `json:"detach_keys,omitempty"`
	// Privileged is refused: an exec runs with the container's own
	// confinement.
	Privileged bool `json:"privileged,omitempty"`
	// ConsoleSize is the terminal's [height, width], if known.
	ConsoleSize [2]uint `json:"console_size,omitzero"`
}

// StreamExecCreated names the exec the node's engine made.
type StreamExecCreated struct {
	ID string `json:"id"`
}

// StreamExecStatus is an exec's state on its node.
type StreamExecStatus struct {
	Running  bool `json:"running"`
	ExitCode int  `json:"exit_code"`
	Pid      int  `json:"pid,omitempty"`
}

// StreamAttach selects what an attach carries.
type StreamAttach struct {
	Stream bool `json:"stream"`
	Stdin  bool `json:"stdin"`
	Stdout bool `json:"stdout"`
	Stderr bool `json:"stderr"`
	Logs   bool `json:"logs"`
}

// StreamTop is the processes of a container, as `ps` shows them.
type StreamTop struct {
	Titles    []string   `json:"Titles"`
	Processes [][]string `json:"Processes"`
}
