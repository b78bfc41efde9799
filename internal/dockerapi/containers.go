package dockerapi

// containerRoutes serves the container verbs: create, start, ps, inspect,
// stop, restart, kill, rm, wait, rename, top, stats, port.
//
// TODO(helper containers): not served yet.
func (s *Server) containerRoutes() {}
