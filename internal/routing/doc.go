// Package routing is the one owner of what a service's routes mean: the
// text form of a route (ParseRoute, FormatRoute), a service's effective
// routes and options from its spec and from Docker Cloud's
// dockercloud/haproxy variables in its environment (Resolve), the checks
// the domain layer runs on a service spec (Validate), the container ports
// routes need published (RoutedPorts), and, for one organization, the
// route table the gateway pushes to router nodes (Table) and what
// `wharf router ls` shows (Status).
//
// It is pure: no I/O, no clock, no store; everything comes in as values.
package routing
