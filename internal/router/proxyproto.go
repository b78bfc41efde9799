package router

// The PROXY protocol: accepted on every listener from Config.TrustedProxies
// only, and sent to the backends of tcp routes that ask for it.

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/wharfhq/wharf/api"
)

// proxyHeaderTimeout bounds how long a trusted proxy's connection may take
// to send its PROXY header.
const proxyHeaderTimeout = 5 * time.Second

// acceptProxyProtocol wraps a listener so that connections from trusted
// proxies may open with a PROXY header (optional: USE), and everyone
// else's are served raw, unparsed (SKIP). With no trusted proxies the
// listener is left as it is.
func acceptProxyProtocol(l net.Listener, trusted []netip.Prefix) net.Listener {
	if len(trusted) == 0 {
		return l
	}
	return &proxyproto.Listener{
		Listener:          l,
		ReadHeaderTimeout: proxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if trustedAddr(o.Upstream, trusted) {
				return proxyproto.USE, nil
			}
			return proxyproto.SKIP, nil
		},
	}
}

func trustedAddr(a net.Addr, trusted []netip.Prefix) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// writeProxyHeader opens a backend connection with a PROXY header (version
// "v1" or "v2") naming the client and the address it connected to.
func writeProxyHeader(c net.Conn, version string, client, local net.Addr) error {
	var v byte
	switch version {
	case api.ProxyProtocolV1:
		v = 1
	case api.ProxyProtocolV2:
		v = 2
	default:
		return fmt.Errorf("router: unknown PROXY protocol version %q (want %s or %s)", version, api.ProxyProtocolV1, api.ProxyProtocolV2)
	}
	h := proxyproto.HeaderProxyFromAddrs(v, client, local)
	_, err := h.WriteTo(c)
	return err
}

// closeWrite half-closes a connection, also through the PROXY protocol
// listener's wrapper; false when the connection cannot.
func closeWrite(c net.Conn) bool {
	if pc, ok := c.(*proxyproto.Conn); ok {
		c = pc.Raw()
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite() == nil
	}
	return false
}
