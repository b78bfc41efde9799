package gateway_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/throttle"
)

// TestForgedCertsAreThrottled: an address that presents client
// certificates of another CA is refused three times after a handshake,
// then hung up on before any handshake, even with a genuine node
// certificate.
func TestForgedCertsAreThrottled(t *testing.T) {
	lim := throttle.New(throttle.Config{Failures: 3})
	e := newEnv(t, func(c *gateway.Config) { c.Throttle = lim })
	other, err := pki.NewCA("impostor CA")
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := nodeCert(t, other, "n-forged")
	for i := range 3 {
		handshook, err := hostile.ForgedClientCert(e.gw.Load().Addr(), forged)
		if !handshook || err == nil {
			t.Fatalf("forged certificate %d: handshook %v, %v; want a refusal after the handshake", i+1, handshook, err)
		}
	}
	// The gateway counts a failure after the client has read its refusal.
	for i := 0; i < 500; i++ {
		if _, blocked := lim.Blocked("127.0.0.1"); blocked {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if handshook, err := hostile.ForgedClientCert(e.gw.Load().Addr(), forged); handshook {
		t.Fatalf("fourth forged certificate: the gateway still handshakes (%v)", err)
	}
	genuine, _ := nodeCert(t, e.ca, "n-genuine")
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.gw.Load().Addr(), &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{genuine}, InsecureSkipVerify: true, //nolint:gosec // a test
	})
	if err == nil {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		_ = conn.Close()
	}
	if err == nil {
		t.Fatal("a refused address got a session")
	}
}
