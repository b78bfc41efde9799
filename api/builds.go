package api

// Builds on a node: `wharf stack deploy` on a machine without a Docker
// Engine uploads a build: service's context to the server, which has a
// node whose agent allows builds (`wharf agent --allow-builds`) build it
// with its engine and push it to the built-in registry.
//
//	client -> server  POST /v1/builds?repository=R&tag=T&dockerfile=F&target=X&build_arg=K=V...
//	                  body: the context as a tar (at most MaxBuildContext bytes)
//	server -> agent   POST /agent/v1/builds
//	                  body: one line of NodeBuildRequest JSON, then the tar
//
// Both answer the build's output as text/plain, streamed, with the result
// in trailers: BuildDigestTrailer (the pushed manifest's digest) on
// success, ErrorTrailer (the build's error) on failure. A refusal before
// the build starts is an ordinary error answer (ErrorBody).

// MaxBuildContext bounds an uploaded build context (413 above it).
const MaxBuildContext = 512 << 20

// Trailers of a build's answer.
const (
	// BuildDigestTrailer is the trailer with the pushed image's manifest
	// digest ("sha256:...").
	BuildDigestTrailer = "X-Wharf-Digest"
	// BuildNodeTrailer names the node that built the image.
	BuildNodeTrailer = "X-Wharf-Node"
	// ErrorTrailer is the trailer with the error that ended a stream after
	// its first byte was sent.
	ErrorTrailer = "X-Wharf-Error"
)

// BuildRequest is what to build: the query of POST /v1/builds.
type BuildRequest struct {
	// Repository is "<org>/<name>" in the built-in registry; the org is
	// the caller's.
	Repository string `json:"repository"`
	// Tag is the image's tag (the CLI's hash of the context).
	Tag string `json:"tag"`
	// Dockerfile is the Dockerfile's path inside the context ("" is
	// "Dockerfile").
	Dockerfile string `json:"dockerfile,omitempty"`
	// Target is the build stage to stop at ("" for the last).
	Target string `json:"target,omitempty"`
	// Args are the build arguments (query: build_arg=NAME=VALUE, repeated).
	Args map[string]string `json:"args,omitempty"`
}

// BuildResult is a finished build on a node.
type BuildResult struct {
	// Node is the ID of the node that built the image.
	Node string `json:"node"`
	// Digest is the pushed image's manifest digest.
	Digest string `json:"digest"`
}

// NodeBuildRequest is the first line of POST /agent/v1/builds: the build
// and where to push it. Auth is a push credential for exactly
// RegistryHost/Repository, valid for minutes; the agent holds it in
// memory for this build only.
type NodeBuildRequest struct {
	BuildRequest
	RegistryHost string       `json:"registry_host"`
	Auth         RegistryAuth `json:"auth"`
}
