package server

import (
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/gateway"
)

// The gateway is what the domain layer's Docker exec, attach, top and
// stats go through (domain.ContainerStreamer, found beside its log source).
var _ domain.ContainerStreamer = (*gateway.Gateway)(nil)
