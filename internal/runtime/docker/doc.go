// Package docker is Wharf's "docker" runtime driver: it runs each container
// of a Spec as a Docker container through the Docker Engine API
// (github.com/moby/moby/client), negotiating the API version down to what
// the engine speaks (1.40 at the oldest).
//
// Every container it makes carries the labels wharf.managed=true, wharf.id,
// wharf.node, wharf.service, wharf.slot, wharf.name and wharf.spec (a hash
// of the Spec, to tell a re-run of the same Spec from a changed one), and is
// named wharf-<name>-<first 8 of ID>. The driver finds its containers by
// these labels only: it never lists, stops or removes a container that lacks
// wharf.managed=true or carries another node's wharf.node. Because the
// engine keeps them, a new Driver on the same node sees (adopts) whatever
// an earlier one made.
//
// A Spec's labels join Wharf's own, which always win: a user label under
// LabelPrefix ("wharf.") is refused. A named volume in Spec.Mounts is
// created (labelled wharf.managed, wharf.node, wharf.service, wharf.slot)
// before the container and never deleted by the driver; a bind mount's
// host path must exist on the node.
//
// It never pulls: an image must already be on the node (`docker load`),
// else Start fails at once. It sets no Docker restart policy: the agent
// decides when to restart.
package docker
