package routing

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func http(host, path string, port int) api.Route {
	return api.Route{Protocol: api.RouteHTTP, Host: host, Path: path, Port: port}
}

func https(host, path string, port int) api.Route {
	return api.Route{Protocol: api.RouteHTTPS, Host: host, Path: path, Port: port}
}

func tcp(listen, port int) api.Route {
	return api.Route{Protocol: api.RouteTCP, Listen: listen, Port: port}
}

func ports(ps ...int) []api.PortSpec {
	var out []api.PortSpec
	for _, p := range ps {
		out = append(out, api.PortSpec{ContainerPort: p})
	}
	return out
}

func TestResolve(t *testing.T) {
	const pem = `-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----`
	for _, c := range []struct {
		name string
		spec api.ServiceSpec
		want Resolved
	}{
		{"nothing", api.ServiceSpec{Image: "nginx"}, Resolved{}},
		{"explicit route, the only published port",
			api.ServiceSpec{Image: "nginx", Ports: ports(80), Routes: []api.Route{{Host: "a.io", Path: "/"}}},
			Resolved{Routes: []api.Route{http("a.io", "", 80)}}},
		{"explicit route, the only exposed port",
			api.ServiceSpec{Image: "nginx", Expose: ports(8080), Routes: []api.Route{{Host: "a.io"}}},
			Resolved{Routes: []api.Route{http("a.io", "", 8080)}}},
		{"udp ports and ingress ports are no default",
			api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 53, Protocol: "udp"}, {ContainerPort: 9000, HostPort: 9000, Mode: api.PortModeIngress}, {ContainerPort: 80}},
				Routes: []api.Route{{Host: "a.io"}}},
			Resolved{Routes: []api.Route{http("a.io", "", 80), tcp(9000, 9000)}}},
		{"explicit fields win over the variables",
			api.ServiceSpec{Image: "x", Ports: ports(80), Routes: []api.Route{{Host: "a.io", Port: 80}},
				RouteOptions: api.RouteOptions{Balance: "source", Cookie: "S", HTTPCheck: "/h", Weight: 3, Certificate: "web-cert"},
				Env:          map[string]string{"VIRTUAL_HOST": "b.io", "TCP_PORTS": "22", "BALANCE": "leastconn", "COOKIE": "X insert", "HTTP_CHECK": "/x", "VIRTUAL_HOST_WEIGHT": "9", "SSL_CERT": pem}},
			Resolved{Routes: []api.Route{http("a.io", "", 80)}, Options: api.RouteOptions{Balance: "source", Cookie: "S", HTTPCheck: "/h", Weight: 3, Certificate: "web-cert"}}},
		{"dockercloud/haproxy's variables",
			api.ServiceSpec{Image: "x", Expose: ports(80, 22, 8083, 8086), Env: map[string]string{
				"VIRTUAL_HOST":        "www.webapp1.com, https://www.webapp1.org, *.node.io, */path, */path/*, wss://ws.io:443/sock/, a.io:80",
				"TCP_PORTS":           "22",
				"EXCLUDE_PORTS":       "8083,8086",
				"BALANCE":             "LeastConn",
				"COOKIE":              "SRV insert indirect nocache",
				"FORCE_SSL":           "yes",
				"HTTP_CHECK":          `OPTIONS * HTTP/1.1\r\nHost:\ www`,
				"VIRTUAL_HOST_WEIGHT": "2",
				"SSL_CERT":            pem,
			}},
			Resolved{
				Routes: []api.Route{http("www.webapp1.com", "", 80), https("www.webapp1.org", "", 80), http("*.node.io", "", 80), http("*", "/path", 80),
					https("ws.io", "/sock", 80), http("a.io", "", 80), tcp(22, 22)},
				Options:        api.RouteOptions{Balance: "leastconn", Cookie: "SRV", ForceSSL: true, HTTPCheck: "OPTIONS *", Weight: 2},
				EnvCertificate: "-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----",
			}},
		{"a check of a URI alone is haproxy's OPTIONS",
			api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "HTTP_CHECK": "/health"}},
			Resolved{Routes: []api.Route{http("a.io", "", 80)}, Options: api.RouteOptions{HTTPCheck: "OPTIONS /health"}}},
		{"the variables of options mean nothing to a service without routes",
			api.ServiceSpec{Image: "x", Env: map[string]string{"BALANCE": "static-rr", "COOKIE": "a;b", "HTTP_CHECK": "x", "SSL_CERT": "PEM", "VIRTUAL_HOST_WEIGHT": "high", "FORCE_SSL": "1"}},
			Resolved{}},
		{"https on 443 without a scheme",
			api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io:443"}},
			Resolved{Routes: []api.Route{https("a.io", "", 80)}}},
		{"tcp routes take their port out of the http routes' default",
			api.ServiceSpec{Image: "x", Ports: ports(80, 5432), Routes: []api.Route{{Host: "a.io"}, {Protocol: "tcp", Listen: 15432, Port: 5432}}},
			Resolved{Routes: []api.Route{http("a.io", "", 80), tcp(15432, 5432)}}},
		{"an ingress port of the only port leaves it the http routes' default",
			api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 80}, {ContainerPort: 80, HostPort: 8080, Mode: api.PortModeIngress}}, Routes: []api.Route{{Host: "a.io"}}},
			Resolved{Routes: []api.Route{http("a.io", "", 80), tcp(8080, 80)}}},
		{"exec: routes go to $PORT; TCP_PORTS listens there too",
			api.ServiceSpec{Command: []string{"./web"}, Routes: nil, Env: map[string]string{"VIRTUAL_HOST": "a.io", "TCP_PORTS": "9000"}},
			Resolved{Routes: []api.Route{http("a.io", "", 0), tcp(9000, 0)}}},
	} {
		got, err := Resolve(c.spec)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", c.name, got, err, c.want)
		}
	}
}

// TestResolveErrors: each refusal is an invalid-argument error that
// names the field and says what to do.
func TestResolveErrors(t *testing.T) {
	for _, c := range []struct {
		name        string
		spec        api.ServiceSpec
		field, want string
	}{
		{"no port to default to", api.ServiceSpec{Image: "x", Routes: []api.Route{{Host: "a.io", Path: "/api"}}},
			"spec.routes[0]", "route a.io/api: which container port? the service publishes and exposes no tcp port (Wharf cannot read the image's EXPOSE): name it in the route, as --route a.io/api:8080"},
		{"several ports", api.ServiceSpec{Image: "x", Ports: ports(80, 443), Expose: ports(9000), Routes: []api.Route{{Host: "a.io"}}},
			"spec.routes[0]", "the service has 80, 443, 9000: name one in the route, as --route a.io:8080"},
		{"EXCLUDE_PORTS leaves one", api.ServiceSpec{Image: "x", Ports: ports(80, 443), Env: map[string]string{"VIRTUAL_HOST": "a.io", "EXCLUDE_PORTS": "80,443"}},
			"spec.env.VIRTUAL_HOST", "publishes and exposes no tcp port"},
		{"bad EXCLUDE_PORTS", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "EXCLUDE_PORTS": "eighty"}},
			"spec.env.EXCLUDE_PORTS", `port "eighty"`},
		{"frontend port", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io:8080"}},
			"spec.env.VIRTUAL_HOST", `"a.io:8080": port 8080: the routers serve HTTP on port 80 and HTTPS on 443 only; for another port use a tcp route (TCP_PORTS=8080, or --route tcp://8080:PORT)`},
		{"https on 80", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "https://a.io:80"}},
			"spec.env.VIRTUAL_HOST", "port 80: the routers serve"},
		{"glob path", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "*/*.js"}},
			"spec.env.VIRTUAL_HOST", "Wharf routes by path prefix"},
		{"glob host", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "*example.com"}},
			"spec.env.VIRTUAL_HOST", "a wildcard is * (any host) or *.example.com"},
		{"tcp /ssl", api.ServiceSpec{Image: "x", Ports: ports(2222), Env: map[string]string{"TCP_PORTS": "9000, 2222/ssl"}},
			"spec.env.TCP_PORTS", `"2222/ssl": Wharf's router does not terminate TLS on tcp routes (/ssl)`},
		{"BALANCE static-rr", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "BALANCE": "static-rr"}},
			"spec.env.BALANCE", `"static-rr": Wharf's router balances by roundrobin, leastconn, source`},
		{"bad weight", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "VIRTUAL_HOST_WEIGHT": "high"}},
			"spec.env.VIRTUAL_HOST_WEIGHT", "whole number"},
		{"bad HTTP_CHECK", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "HTTP_CHECK": "GET health"}},
			"spec.env.HTTP_CHECK", "must start with /"},
		{"bad COOKIE", api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "a.io", "COOKIE": "S;x insert"}},
			"spec.env.COOKIE", "';' is not allowed"},
		{"udp ingress", api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 53, HostPort: 53, Protocol: "udp", Mode: api.PortModeIngress}}},
			"spec.ports[0]", "the routers balance TCP only"},
		{"ingress without a published port", api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 80, Mode: api.PortModeIngress}}},
			"spec.ports[0]", "needs its published port"},
		{"exec with a port", api.ServiceSpec{Command: []string{"x"}, Routes: []api.Route{{Host: "a.io", Port: 80}}},
			"spec.routes[0]", "the exec driver hands each container one port, $PORT, and routes go there: drop :80"},
		{"bad route", api.ServiceSpec{Image: "x", Routes: []api.Route{{Protocol: "udp", Listen: 53}}},
			"spec.routes[0]", `protocol "udp": want http, https or tcp`},
		{"tcp with a host", api.ServiceSpec{Image: "x", Routes: []api.Route{{Protocol: "tcp", Listen: 53, Host: "a.io"}}},
			"spec.routes[0]", "a tcp route has no host"},
		{"listen out of range", api.ServiceSpec{Image: "x", Routes: []api.Route{{Protocol: "tcp", Listen: 70000}}},
			"spec.routes[0]", "listen port must be from 1 to 65535, got 70000"},
		{"listen on http", api.ServiceSpec{Image: "x", Routes: []api.Route{{Host: "a.io", Listen: 80}}},
			"spec.routes[0]", "only tcp routes have a listen port"},
		{"upper-case host", api.ServiceSpec{Image: "x", Routes: []api.Route{{Host: "A.io", Port: 80}}},
			"spec.routes[0]", "must be lower case"},
		{"bad balance", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{Balance: "random"}},
			"spec.route_options.balance", "want roundrobin, leastconn, source"},
		{"bad proxy protocol", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{ProxyProtocol: "v3"}},
			"spec.route_options.proxy_protocol", "want v1 or v2"},
		{"bad drain", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{Drain: -1}},
			"spec.route_options.drain_ms", "must be from 0"},
		{"bad weight option", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{Weight: 2_000_000}},
			"spec.route_options.weight", "must be from"},
		{"bad certificate", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{Certificate: "my cert"}},
			"spec.route_options.certificate", "without spaces"},
		{"bad check option", api.ServiceSpec{Image: "x", RouteOptions: api.RouteOptions{HTTPCheck: "get /"}},
			"spec.route_options.http_check", "upper-case"},
	} {
		_, err := Resolve(c.spec)
		var fe *errdefs.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, errdefs.ErrInvalid) || fe.Field != c.field || !strings.Contains(fe.Message, c.want) {
			t.Errorf("%s: %v; want %s: ...%s...", c.name, err, c.field, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := []api.ServiceSpec{
		{Image: "x"},
		{Image: "x", Ports: ports(80, 5432), Routes: []api.Route{{Host: "a.io"}, {Protocol: "https", Host: "a.io"}, {Host: "a.io", Path: "/api"}, {Protocol: "tcp", Listen: 80, Port: 5432}}},
		{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "*/path, */path/"}},
	}
	for _, s := range ok {
		if err := Validate(s); err != nil {
			t.Errorf("Validate(%+v): %v", s, err)
		}
	}
	for _, c := range []struct {
		spec        api.ServiceSpec
		field, want string
	}{
		{api.ServiceSpec{Image: "x", Ports: ports(80, 81), Routes: []api.Route{{Host: "a.io", Port: 80}, {Host: "a.io", Path: "/", Port: 81}}},
			"spec.routes", "routes a.io:80 and a.io:81 have the same host and path"},
		{api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 5432, HostPort: 5432, Mode: api.PortModeIngress}}, Routes: []api.Route{{Protocol: "tcp", Listen: 5432, Port: 5432}}},
			"spec.routes", "both take the routers' port 5432"},
		{api.ServiceSpec{Image: "x", NetworkMode: "none", Ports: ports(80), Routes: []api.Route{{Host: "a.io"}}},
			"spec.network_mode", "network mode none cannot be reached"},
		{api.ServiceSpec{Image: "x", Env: map[string]string{"VIRTUAL_HOST": "a.io:8443"}},
			"spec.env.VIRTUAL_HOST", "use a tcp route"},
	} {
		err := Validate(c.spec)
		var fe *errdefs.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.want) {
			t.Errorf("Validate(%+v): %v; want %s: ...%s...", c.spec, err, c.field, c.want)
		}
	}
}

func TestRoutedPorts(t *testing.T) {
	for _, c := range []struct {
		name string
		spec api.ServiceSpec
		want []int
	}{
		{"no routes", api.ServiceSpec{Image: "x", Ports: ports(80)}, nil},
		{"published already", api.ServiceSpec{Image: "x", Ports: ports(80), Routes: []api.Route{{Host: "a.io"}}}, nil},
		{"exposed only", api.ServiceSpec{Image: "x", Expose: ports(8080, 9000), Routes: []api.Route{{Host: "a.io", Port: 8080}, {Host: "b.io", Port: 8080}, {Protocol: "tcp", Listen: 9000}}}, nil},
		{"exposed, named", api.ServiceSpec{Image: "x", Expose: ports(8080, 9000), Routes: []api.Route{{Host: "a.io", Port: 9000}, {Host: "b.io", Port: 8080}, {Protocol: "tcp", Listen: 9001, Port: 9000}}}, []int{8080, 9000}},
		{"ingress ports need their container port published", api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 5432, HostPort: 15432, Mode: api.PortModeIngress}}}, []int{5432}},
		{"udp published is not tcp", api.ServiceSpec{Image: "x", Ports: []api.PortSpec{{ContainerPort: 80, Protocol: "udp"}}, Routes: []api.Route{{Host: "a.io", Port: 80}}}, []int{80}},
		{"host network", api.ServiceSpec{Image: "x", NetworkMode: "host", Routes: []api.Route{{Host: "a.io", Port: 80}}}, nil},
		{"exec", api.ServiceSpec{Command: []string{"x"}, Routes: []api.Route{{Host: "a.io"}}}, nil},
	} {
		if got := RoutedPorts(c.spec); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: RoutedPorts = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDrainMS(t *testing.T) {
	for _, c := range []struct {
		spec api.ServiceSpec
		want int
	}{
		{api.ServiceSpec{Command: []string{"x"}}, 0},
		{api.ServiceSpec{Command: []string{"x"}, RouteOptions: api.RouteOptions{Drain: 5000}}, 0},
		{api.ServiceSpec{Command: []string{"x"}, Env: map[string]string{"VIRTUAL_HOST": "a.io"}}, api.DefaultRouteDrainMS},
		{api.ServiceSpec{Command: []string{"x"}, Routes: []api.Route{{Host: "a.io"}}, RouteOptions: api.RouteOptions{Drain: 5000}}, 5000},
	} {
		if got := DrainMS(c.spec); got != c.want {
			t.Errorf("DrainMS(%+v) = %d, want %d", c.spec, got, c.want)
		}
	}
}
