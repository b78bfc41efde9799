package dockerapi

// Whole lists of the actor's services and containers, page by page, for
// the image, network and volume calls that show what Wharf's objects use.

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// knownServices lists every service of the actor's organization.
func (s *Server) knownServices(ctx context.Context, a domain.Actor) ([]api.Service, error) {
	var out []api.Service
	p := domain.Page{Limit: domain.MaxLimit}
	for {
		l, err := s.d.ListServices(ctx, a, "", p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.Next == "" {
			return out, nil
		}
		p.After = l.Next
	}
}

// knownContainers lists every container of the actor's organization.
func (s *Server) knownContainers(ctx context.Context, a domain.Actor) ([]api.Container, error) {
	var out []api.Container
	p := domain.Page{Limit: domain.MaxLimit}
	for {
		l, err := s.d.ListContainers(ctx, a, "", "", p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.Next == "" {
			return out, nil
		}
		p.After = l.Next
	}
}
