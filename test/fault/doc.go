// Package fault is Wharf's multi-host fault suite: it starts a real cluster
// in Docker containers (test/multihost), injects the failures that happen
// every day (an agent killed or cut off, a slow and lossy link, the server
// killed -9, the store's disk full) and checks, by asking the agents
// themselves what they run, that no slot is lost or duplicated and that no
// workload is restarted when it should not be. Each scenario logs its
// timings; docs/reliability.md keeps the figures.
//
// The short form (one run per scenario) runs with `go test ./test/fault/`
// when a Docker engine answers; it skips without one, unless
// WHARF_REQUIRE_DOCKER=1. WHARF_FAULT_LONG=1 runs the long form: several
// runs per scenario, ten kills, minutes of lossy link.
package fault
