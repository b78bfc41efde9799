package hostile

import (
	"crypto/tls"
	"net"
	"time"
)

// TLS12Handshake dials addr and offers only the given TLS 1.2 cipher
// suites, as an old or downgrading client would, without checking the
// server's certificate (an attacker does not care who answers). It returns
// the suite the server picked, or the handshake's error when the server
// refused every suite offered.
func TLS12Handshake(addr string, suites ...uint16) (uint16, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{
		MinVersion:         tls.VersionTLS12,
		MaxVersion:         tls.VersionTLS12,
		CipherSuites:       suites,
		InsecureSkipVerify: true, //nolint:gosec // the attacker's side: it trusts anything
	})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().CipherSuite, nil
}
