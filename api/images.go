package api

import (
	"strings"
	"time"
)

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

// DockerHub is the registry host of Docker Hub as RegistryHost names it.
const DockerHub = "docker.io"

// RegistryHost is the registry host ("host:port", lower case) an image
// reference names: its first path element when that has a "." or a ":" or
// is "localhost", as the Docker Engine reads it; otherwise the image is
// Docker Hub's and the host is DockerHub. Docker Hub's other names
// (index.docker.io, registry-1.docker.io) give DockerHub too.
func RegistryHost(image string) string {
	first, _, found := strings.Cut(image, "/")
	if !found || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return DockerHub
	}
	return NormalizeRegistryHost(first)
}

// NormalizeRegistryHost is how a registry host is keyed: lower case,
// without a scheme or trailing slash, Docker Hub's names (none at all,
// docker.io, index.docker.io, registry-1.docker.io) as DockerHub.
func NormalizeRegistryHost(host string) string {
	h := strings.ToLower(strings.TrimSpace(host))
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	switch h {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return DockerHub
	}
	return h
}

// RegistryLogin is an organization's credential for one registry as the
// API shows it (GET /v1/registry/logins): the host and user, never the
// password.
type RegistryLogin struct {
	Host      string    `json:"host"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// RegistryLoginRequest is the body of PUT /v1/registry/logins/{host}:
// the organization's credential for that registry, replacing any.
type RegistryLoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// NodeRegistryUserPrefix starts the user name of the pull credential a
// node gets for the built-in registry: "wharf-node.<node ID>".
const NodeRegistryUserPrefix = "wharf-node."
