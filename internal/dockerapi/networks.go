package dockerapi

// networkRoutes serves Wharf's networks as Docker's.
//
// TODO(helper compose): not served yet.
func (s *Server) networkRoutes() {}
