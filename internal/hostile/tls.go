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

// ForgedClientCert connects to an mTLS listener (the agent gateway) with a
// client certificate the cluster CA did not sign, as an impostor would. It
// reports whether the server went through its side of the TLS 1.3
// handshake at all (false: it hung up first), and the error that ended the
// connection (the server's refusal of the certificate shows on the first
// read).
func ForgedClientCert(addr string, cert tls.Certificate) (handshook bool, err error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Send it whatever CAs the server asks for.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		InsecureSkipVerify:   true, //nolint:gosec // the attacker's side: it trusts anything
	})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return true, err
}
