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
// A Spec with Networks runs on Docker networks of the bridge driver named
// wharf-<network>, bound to the node's overlay bridges, with the slot's
// address, MAC and the network's resolver behind Docker's embedded DNS
// (network.go). The driver creates a missing network, uses a fitting one,
// refuses a conflicting one saying which, and never removes one.
//
// It pulls per Spec.PullPolicy (pull.go): missing (the default, and build)
// pulls an image the node lacks, always pulls before every start, never
// fails at once when the image is not on the node (`docker load` it). A
// pull uses Spec.RegistryAuth (never written anywhere), reports progress to
// Spec.PullProgress, and is shared by every Start on the node that needs
// the same image with the same credential. A failed pull is an error
// naming the image and registry (refused credential, no such tag, registry
// not answering); the driver never retries it: the agent backs off as for
// any failed start. It sets no Docker restart policy: the agent decides
// when to restart.
package docker
