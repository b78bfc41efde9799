// Package dockerapi serves the Docker Engine API on top of Wharf's domain
// layer, so that the stock docker CLI and docker-compose drive the whole
// cluster as Swarm classic let them: `DOCKER_HOST` names the server's
// Docker endpoint (`wharf server --docker-addr`), and each call becomes the
// domain operation that the REST API would make, with the same actor,
// roles and audit trail.
//
// A container that a Docker client creates is a standalone Wharf object: a
// service of one container marked Standalone, placed by the scheduler,
// named as the client named it. Wharf's own services and stacks appear as
// their containers. docs/docker-api.md has the endpoint table: what is
// served, how it maps, and what is refused (501, naming the wharf command
// to use instead).
//
// The endpoint answers only over TLS with a client certificate of the
// cluster CA marked as a Docker client's (`wharf docker-env` issues one);
// each certificate is an API token of kind docker-cert, revoked by
// `wharf token rm`.
package dockerapi
