package dockerapi

// streamRoutes serves the calls that stream: logs, attach and exec.
//
// TODO(helper streams): not served yet.
func (s *Server) streamRoutes() {}
