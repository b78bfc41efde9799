package api

// Pull policies (compose's pull_policy): when a node pulls a service's image.
const (
	// PullMissing pulls an image the node lacks (the default).
	PullMissing = "missing"
	// PullAlways pulls before every container start.
	PullAlways = "always"
	// PullNever never pulls: the image must be on the node.
	PullNever = "never"
	// PullBuild is for images `wharf stack deploy` builds: they are built,
	// pushed to the built-in registry and pulled from it like PullMissing.
	PullBuild = "build"
)

// PullPolicies are the pull policies a service may name ("" is PullMissing).
var PullPolicies = []string{PullMissing, PullAlways, PullNever, PullBuild}

// RegistryAuth is a credential for one registry, as the engine takes it.
// It travels to a node only for the images that node pulls, is held in
// the agent's memory, and is never written to the node's disk.
type RegistryAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// RegistryInfo is GET /v1/registry: where the server's built-in registry
// is reached. Images pushed to it are named "<Host>/<org>/<repository>".
type RegistryInfo struct {
	// Host is host:port as nodes and clients name the registry.
	Host string `json:"host"`
}
