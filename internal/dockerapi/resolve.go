package dockerapi

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// container finds the Wharf container a Docker call names: by Docker ID
// (a standalone container's is its service's) or a unique prefix of one,
// by name, by "node/name" as docker ps shows it, or by a standalone
// container's Wharf container ID. A standalone container whose container
// the controller has yet to make is not found (409: not created yet).
func (s *Server) container(ctx context.Context, a domain.Actor, ref string) (*api.Container, error) {
	snap, err := s.load(ctx, a)
	if err != nil {
		return nil, err
	}
	e, err := snap.find(ref)
	if err != nil {
		return nil, err
	}
	if e.c == nil {
		return nil, errdefs.New(errdefs.ErrConflict, "container "+e.name+" has not been created on a node yet; start it with docker start "+e.name)
	}
	return e.c, nil
}
