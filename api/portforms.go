package api

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Docker's ways of writing ports, parsed in one place for the CLI
// (-p/--publish, --expose) and compose (expose:).

// ParsePublish reads one -p value, in Docker's short forms:
//
//	CONTAINER                  80         a free host port
//	HOST:CONTAINER             8080:80
//	IP:HOST:CONTAINER          127.0.0.1:8080:80, [::1]:8080:80
//	IP::CONTAINER              127.0.0.1::80 (a free host port on IP)
//	0:CONTAINER                0:80 (a free host port)
//	HOST1-HOST2:C1-C2          8000-8002:9000-9002 (one PortSpec a port)
//	C1-C2                      9000-9002 (free host ports)
//
// each with an optional /tcp or /udp; or in the long form of docker
// service create --publish, comma-separated key=value pairs:
//
//	mode=ingress,published=8080,target=80,protocol=tcp,host_ip=10.0.0.5
//
// (mode host or ingress, host by default; target is required). A host
// range for one container port (Docker picks one of them) is refused:
// give one host port, or none for a free one.
func ParsePublish(s string) ([]PortSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty port; write CONTAINER, HOST:CONTAINER, IP:HOST:CONTAINER or target=PORT,published=PORT")
	}
	if strings.Contains(s, "=") {
		p, err := parseLongPublish(s)
		if err != nil {
			return nil, err
		}
		return []PortSpec{p}, nil
	}
	rest, proto, err := cutProto(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	ip, rest, err := cutHostIP(rest)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	hostPart, ctrPart := "", rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		hostPart, ctrPart = rest[:i], rest[i+1:]
		if strings.Contains(hostPart, ":") {
			return nil, fmt.Errorf("%q: too many ':'; write IP:HOST:CONTAINER, with an IPv6 address in brackets ([::1]:8080:80)", s)
		}
	} else if ip != "" {
		return nil, fmt.Errorf("%q: an address needs a host port and a container port: IP:HOST:CONTAINER or IP::CONTAINER", s)
	}
	c1, c2, err := portRange(ctrPart)
	if err != nil {
		return nil, fmt.Errorf("%q: container port: %w", s, err)
	}
	n := c2 - c1 + 1
	h1, h2 := 0, -1
	if hostPart == "0" {
		hostPart = "" // Docker's 0:80: a free host port
	}
	if hostPart != "" {
		if h1, h2, err = portRange(hostPart); err != nil {
			return nil, fmt.Errorf("%q: host port: %w", s, err)
		}
		if h2-h1+1 != n {
			if n == 1 {
				return nil, fmt.Errorf("%q: a range of host ports for one container port is not supported; give one host port, or none for a free one", s)
			}
			return nil, fmt.Errorf("%q: the host range has %d ports and the container range %d: they must be as long", s, h2-h1+1, n)
		}
	}
	out := make([]PortSpec, 0, n)
	for i := range n {
		p := PortSpec{ContainerPort: c1 + i, Protocol: proto, HostIP: ip}
		if hostPart != "" {
			p.HostPort = h1 + i
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseExpose reads one --expose value (or compose expose: entry):
// PORT or PORT1-PORT2, with an optional /tcp or /udp.
func ParseExpose(s string) ([]PortSpec, error) {
	rest, proto, err := cutProto(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	p1, p2, err := portRange(rest)
	if err != nil {
		return nil, fmt.Errorf("%q: %w; write PORT, PORT/udp or PORT1-PORT2", s, err)
	}
	out := make([]PortSpec, 0, p2-p1+1)
	for p := p1; p <= p2; p++ {
		out = append(out, PortSpec{ContainerPort: p, Protocol: proto})
	}
	return out, nil
}

// maxPortRange bounds how many ports one value expands to.
const maxPortRange = 1024

// cutProto splits "PORTS/PROTO" into PORTS and tcp or udp ("" when there
// is no suffix).
func cutProto(s string) (string, string, error) {
	rest, proto, ok := strings.Cut(s, "/")
	if !ok {
		return s, "", nil
	}
	switch p := strings.ToLower(proto); p {
	case "tcp", "udp":
		return rest, p, nil
	default:
		return "", "", fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
}

// cutHostIP splits "IP:HOST:CONTAINER" (IPv6 in brackets) into IP and
// the rest; no address when s has fewer than two ':'.
func cutHostIP(s string) (string, string, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", "", fmt.Errorf("an IPv6 address in brackets is followed by :HOST:CONTAINER")
		}
		ip, err := hostIP(s[1:end])
		return ip, s[end+2:], err
	}
	if strings.Count(s, ":") < 2 {
		return "", s, nil
	}
	i := strings.IndexByte(s, ':')
	ip, err := hostIP(s[:i])
	return ip, s[i+1:], err
}

// hostIP checks an address to publish on and returns it in canonical form.
func hostIP(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("host address %q is not an IP address (such as 127.0.0.1 or [::1])", s)
	}
	return a.String(), nil
}

// portRange parses "P" or "P1-P2" (P1 <= P2, at most maxPortRange ports).
func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	p1, err := portNumber(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return p1, p1, nil
	}
	p2, err := portNumber(b)
	if err != nil {
		return 0, 0, err
	}
	if p2 < p1 {
		return 0, 0, fmt.Errorf("range %s ends before it starts", s)
	}
	if p2-p1+1 > maxPortRange {
		return 0, 0, fmt.Errorf("range %s has more than %d ports", s, maxPortRange)
	}
	return p1, p2, nil
}

// portNumber parses a port from 1 to 65535.
func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port from 1 to 65535", s)
	}
	return n, nil
}

// parseLongPublish reads docker service create's long form.
func parseLongPublish(s string) (PortSpec, error) {
	var p PortSpec
	seen := map[string]bool{}
	for field := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		k = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return p, fmt.Errorf("%q: %q is not key=value", s, field)
		}
		if seen[k] {
			return p, fmt.Errorf("%q: %s is given twice", s, k)
		}
		seen[k] = true
		var err error
		switch k {
		case "target":
			p.ContainerPort, err = portNumber(v)
		case "published":
			p.HostPort, err = portNumber(v)
		case "protocol":
			_, p.Protocol, err = cutProto("/" + v)
		case "mode":
			switch m := strings.ToLower(v); m {
			case PortModeHost, PortModeIngress:
				p.Mode = m
			default:
				err = fmt.Errorf("mode %q: want host or ingress", v)
			}
		case "host_ip":
			p.HostIP, err = hostIP(strings.Trim(v, "[]"))
		default:
			err = fmt.Errorf("unknown key %q: want target, published, protocol, mode or host_ip", k)
		}
		if err != nil {
			return p, fmt.Errorf("%q: %w", s, err)
		}
	}
	if p.ContainerPort == 0 {
		return p, fmt.Errorf("%q: set target, the container port (target=80)", s)
	}
	return p, nil
}
