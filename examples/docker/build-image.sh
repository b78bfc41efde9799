#!/bin/sh
# Builds the image examples/docker/compose.yml runs, wharf/hello:local (or
# $IMAGE): a static wharf binary FROM scratch, built with the engine's
# classic builder, so no registry and no BuildKit are needed. Run it on
# every node that will run the stack, or `docker save | docker load` it.
set -eu
cd "$(dirname "$0")/../.."
image=${IMAGE:-wharf/hello:local}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 GOOS=linux ${GO:-go} build -trimpath -o "$ctx/wharf" ./cmd/wharf
cp examples/docker/Dockerfile "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx"
echo "built $image"
