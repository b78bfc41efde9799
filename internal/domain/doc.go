// Package domain is the one owner of what a caller may do to Wharf's
// objects: every front door (the REST API today; the Docker API endpoint
// and the dashboard next) decodes its request, calls an operation here
// with an Actor, and encodes the answer. An operation checks the actor's
// permission, validates the input, resolves names through the name index,
// writes the store in one transaction with the events that describe the
// change, notes the object it acted on for the audit trail, and returns
// errdefs errors that every front door maps the same way.
//
// Nothing here knows HTTP. The agent gateway is reached only through the
// interfaces in Config (logs, exec, join).
package domain
