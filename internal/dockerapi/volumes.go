package dockerapi

// volumeRoutes serves volume ls.
//
// TODO(helper compose): not served yet.
func (s *Server) volumeRoutes() {}
