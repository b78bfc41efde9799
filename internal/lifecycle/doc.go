// Package lifecycle holds the rules of the objects' lifecycles, each in
// one place: the order of a container's states within a run (a report
// older than the stored status is dropped), the moves a node's state may
// make and the one function that makes them, the one write of a node's
// availability (active, pause, drain), the autorestart policy and
// whether an exit is the workload's own (for the agent and the controller
// alike). It is pure: it never reads or writes the store, and imports
// nothing of Wharf's but api (the agent uses it too).
package lifecycle
