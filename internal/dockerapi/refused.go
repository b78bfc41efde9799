package dockerapi

import "strings"

// instead names, per path prefix, what to use in place of a Docker call
// Wharf does not serve.
var instead = []struct{ prefix, use string }{
	{"/swarm", "Wharf is not a swarm-mode cluster; its nodes are `wharf node ls` and joining is `wharf node join-token`"},
	{"/services", "swarm-mode services are not served; use `wharf service create` or `wharf stack deploy`"},
	{"/nodes", "swarm-mode nodes are not served; use `wharf node ls`, and `docker info` lists them too"},
	{"/secrets", "swarm-mode secrets are not served; use `wharf secret create`"},
	{"/configs", "swarm-mode configs are not served; use `wharf secret create`"},
	{"/build", "builds go through `wharf build` (or `build:` in a stack file)"},
	{"/commit", "a container's changes are not committed into images; build one with `wharf build`"},
	{"/plugins", "plugins are managed on each node's own engine"},
	{"/session", "builds go through `wharf build`"},
	{"/auth", "registry logins are `wharf registry login`"},
}

// insteadOf says what to use in place of path.
func insteadOf(path string) string {
	for _, i := range instead {
		if strings.HasPrefix(path, i.prefix) {
			return i.use
		}
	}
	return "use the wharf CLI or the REST API instead (docs/docker-api.md lists what the endpoint serves)"
}
