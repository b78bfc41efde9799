// Package build builds the images of a stack's build: services for `wharf
// stack deploy`: it hashes each build context (files, modes, Dockerfile,
// arguments and target, without what .dockerignore excludes) into a tag,
// asks the server's built-in registry whether that tag exists, and when it
// does not, builds the image with the Docker Engine of this machine
// (DOCKER_HOST), exports it, and pushes it to the registry with the CLI's
// own TLS trust and the user's Wharf token. Each service then runs the
// pushed image by digest. It runs on the client side: it reaches the
// server only through its registry, never through the API. Building with
// the engine and pushing are in engine/, which the docker driver shares
// for a node's builds without linking the compose loader.
package build
