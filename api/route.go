package api

// The router (see docs/routing.md): Wharf's entrance for traffic from
// outside. Routers run inside the agents of the nodes that carry the
// RouterLabel; each gets its organization's RouteTable from the gateway
// (PUT /agent/v1/routes, latest wins, like the overlay's NetworkState)
// and serves it without a reload.

// RouterLabel is the node label that makes a node's agent run a router:
// any value but "false" turns it on ("wharf.router=true").
const RouterLabel = "wharf.router"

// Route protocols.
const (
	RouteHTTP  = "http"  // HTTP by host and path on the router's HTTP port
	RouteHTTPS = "https" // the same on the HTTPS port, with a certificate
	RouteTCP   = "tcp"   // a TCP port of the router, to the container port
)

// Balance algorithms.
const (
	BalanceRoundRobin = "roundrobin" // the default
	BalanceLeastConn  = "leastconn"
	BalanceSource     = "source" // a hash of the client's address
)

// PROXY protocol versions a route sends to its backends.
const (
	ProxyProtocolV1 = "v1"
	ProxyProtocolV2 = "v2"
)

// DefaultRouteDrainMS is how long, in milliseconds, a routed container
// is kept running after it stops being routed (scale-down, rollout,
// drain, stop) when the service sets no RouteOptions.Drain: long enough
// for every router to have dropped it from its table.
const DefaultRouteDrainMS = 2000

// Route is one way in to a service, as the user writes it on the service
// (`--route`, compose label `wharf.route`, x-wharf `routes`), or as
// Docker Cloud's VIRTUAL_HOST and TCP_PORTS say it (package routing reads
// both).
//
// Its text form (ParseRoute in package routing) is
//
//	[http|https|ws|wss://]HOST[/PATH][:PORT]    e.g. app.example.com/api:8080
//	tcp://LISTEN[:PORT]                         e.g. tcp://5432, tcp://15432:5432
//
// HOST is a name, "*.example.com" (any one or more labels in front) or
// "*" (any host); PATH is a prefix ("/api" matches /api and /api/x, not
// /apix); PORT is the container port (default: the service's only
// published or exposed port, or the exec driver's PORT).
type Route struct {
	Protocol string `json:"protocol"`       // http (default), https or tcp
	Host     string `json:"host,omitempty"` // http, https
	Path     string `json:"path,omitempty"` // http, https; "" is "/"
	// Port is the container port traffic goes to; 0: the default above.
	Port int `json:"port,omitempty"`
	// Listen is a tcp route's port on the router nodes.
	Listen int `json:"listen,omitempty"`
}

// RouteOptions apply to every route of a service (Docker Cloud's
// variables of the same names on the backends map onto them).
type RouteOptions struct {
	// Balance: roundrobin (default), leastconn or source.
	Balance string `json:"balance,omitempty"`
	// Cookie, when set, makes sessions sticky: the router sets a cookie
	// of this name naming the backend and sends later requests with it
	// there while it is ready.
	Cookie string `json:"cookie,omitempty"`
	// ForceSSL redirects plain HTTP requests of the service's https
	// routes to HTTPS (308).
	ForceSSL bool `json:"force_ssl,omitempty"`
	// HTTPCheck, when set, is a request the routers send every few
	// seconds to each backend ("GET /healthz", or a path alone); a
	// backend that fails it gets no new requests until it passes.
	HTTPCheck string `json:"http_check,omitempty"`
	// ProxyProtocol, v1 or v2, makes the routers open every backend
	// connection of a tcp route with a PROXY protocol header carrying
	// the client's address.
	ProxyProtocol string `json:"proxy_protocol,omitempty"`
	// Certificate names the organization's secret that holds the https
	// routes' certificate and key (PEM, both in one); "" gets one by
	// ACME when the server has an ACME directory.
	Certificate string `json:"certificate,omitempty"`
	// Weight orders routes whose host and path tie (higher first); Docker
	// Cloud's VIRTUAL_HOST_WEIGHT.
	Weight int `json:"weight,omitempty"`
	// Drain, in milliseconds, is how long a container that stops being
	// routed keeps running before it is stopped; 0 is DefaultRouteDrainMS.
	Drain int `json:"drain_ms,omitempty"`
}

// RouteTable is everything a router node serves for its organization,
// pushed whole by the gateway. Routes are sorted most specific first:
// exact hosts before wildcards before "*", longer paths before shorter,
// higher weight first.
type RouteTable struct {
	Revision int64 `json:"revision"`
	// Router says the node is a router node: false (the label was
	// removed) makes the agent close its router's listeners.
	Router bool        `json:"router"`
	HTTP   []HTTPRoute `json:"http,omitempty"`
	TCP    []TCPRoute  `json:"tcp,omitempty"`
	// Certificates are the PEM certificate and key of every secret that
	// an https route names.
	Certificates []RouteCertificate `json:"certificates,omitempty"`
	// ACME, when set, is where the routers get certificates for https
	// routes that name none.
	ACME *ACMEConfig `json:"acme,omitempty"`
}

// HTTPRoute is one host and path prefix, and where its requests go.
type HTTPRoute struct {
	Service string `json:"service"` // service ID
	Name    string `json:"name"`    // service name, for logs and metrics
	// TLS: served on the HTTPS port (with Certificate, or by ACME).
	TLS         bool   `json:"tls,omitempty"`
	Host        string `json:"host"` // "*" matches any host
	Path        string `json:"path"` // prefix, at least "/"
	Certificate string `json:"certificate,omitempty"`
	RouteOptions
	Backends []Backend `json:"backends"`
}

// TCPRoute is one port of the router nodes and where its connections go.
type TCPRoute struct {
	Service string `json:"service"`
	Name    string `json:"name"`
	Listen  int    `json:"listen"`
	RouteOptions
	Backends []Backend `json:"backends"`
}

// Backend is one ready container a route sends traffic to.
type Backend struct {
	Container string `json:"container"` // container ID; the sticky cookie's value
	Node      string `json:"node"`
	// Address is "ip:port": the node's address (Node.Address) and the
	// container port's published host port; 127.0.0.1 when the backend
	// runs on the router's own node.
	Address string `json:"address"`
}

// RouteCertificate is one secret's certificate and key.
type RouteCertificate struct {
	Secret string `json:"secret"`
	PEM    string `json:"pem"` // certificate chain and private key
}

// ACMEConfig says how routers get certificates automatically.
type ACMEConfig struct {
	// Directory is the ACME server's directory URL.
	Directory string `json:"directory"`
	Email     string `json:"email,omitempty"`
	// CA, when set, is the PEM roots that the ACME server's own HTTPS
	// certificate chains to (a private or test ACME server).
	CA string `json:"ca,omitempty"`
	// Hosts are every host name of the organization's https routes
	// without a certificate: the only names the routers ask for.
	Hosts []string `json:"hosts,omitempty"`
}

// RouterStatus is what `wharf router ls` shows (GET /v1/routes): every
// route of the organization's services, its backends, and the router
// nodes.
type RouterStatus struct {
	Nodes  []RouterNode   `json:"nodes"`
	Routes []RouteSummary `json:"routes"`
}

// RouterNode is a node that carries the RouterLabel.
type RouterNode struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	State NodeState `json:"state"`
}

// RouteSummary is one route and the state of its backends.
type RouteSummary struct {
	Service  string          `json:"service"` // name
	Route    string          `json:"route"`   // its text form
	Backends []BackendStatus `json:"backends"`
	// Problem says why the route serves nothing, e.g. that its port is
	// not published or its certificate's secret is missing.
	Problem string `json:"problem,omitempty"`
}

// BackendStatus is one container of a route's service.
type BackendStatus struct {
	Container string `json:"container"` // name
	Node      string `json:"node"`      // name
	Address   string `json:"address,omitempty"`
	// Ready: routed. Status is the container's state, and when it is
	// not routed why not (Starting, unhealthy, leaving, port not
	// published). (Not "State": only lifecycle.MoveNode sets a State
	// from a variable.)
	Ready  bool   `json:"ready"`
	Status string `json:"status"`
}
