package dockerapi

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// container finds the container a Docker call names.
//
// TODO(helper containers): a unique prefix of an ID (docker ps shows 12
// digits), node/name as Swarm showed it, a standalone container's name.
func (s *Server) container(ctx context.Context, a domain.Actor, ref string) (*api.Container, error) {
	return s.d.GetContainer(ctx, a, ref)
}
