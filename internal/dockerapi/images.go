package dockerapi

// imageRoutes serves images, pull and rmi.
//
// TODO(helper compose): not served yet.
func (s *Server) imageRoutes() {}
