package dockerapi

// infoRoutes serves /info (the nodes, their labels, containers and
// resources, as Swarm classic showed them) and /events (Wharf's event
// stream in Docker's event format).
//
// TODO(helper core): not served yet.
func (s *Server) infoRoutes() {}
