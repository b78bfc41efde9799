package docker

import (
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/wharfhq/wharf/internal/runtime"
)

// errNoNode is returned by every method called before SetNode.
var errNoNode = errors.New("docker driver: node ID not set; the agent must call SetNode before using the driver")

// notFound says the driver knows no container id; it wraps
// runtime.ErrNotFound and, if any, the engine's error.
func notFound(id string, cause error) error {
	if cause == nil {
		return fmt.Errorf("docker driver: container %s: %w", id, runtime.ErrNotFound)
	}
	return fmt.Errorf("docker driver: container %s: %w (%w)", id, runtime.ErrNotFound, cause)
}

// engineErr wraps an engine error about container id, mapping the
// engine's "no such container" to runtime.ErrNotFound.
func engineErr(id, what string, err error) error {
	if cerrNotFound(err) {
		return notFound(id, err)
	}
	return fmt.Errorf("docker driver: %s container %s: %w", what, id, err)
}

// imageMissing is the error of Start for an image that is not on the
// node when the pull policy is never.
func imageMissing(image string, cause error) error {
	return fmt.Errorf("docker driver: image %s is not on this node and its pull policy is never; load it with `docker load`, or let nodes pull it (pull policy missing): %w", image, cause)
}

// cerrNotFound reports whether err is the engine's "no such container" or
// "no such image".
func cerrNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
