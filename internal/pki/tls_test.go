package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// nodeCert makes a TLS client certificate for nodeID signed by ca.
func nodeCert(t *testing.T, ca *CA, nodeID string) tls.Certificate {
	t.Helper()
	keyPEM, csrPEM, err := NewKeyAndCSR(nodeID)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.SignNodeCSR(csrPEM, nodeID, DefaultNodeCertValidity)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair(node): %v", err)
	}
	return cert
}

// TestMutualTLS runs real TLS 1.3 handshakes against a server that requires
// a client certificate from the cluster CA.
func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	srvCertPEM, srvKeyPEM, err := ca.IssueServer(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := tls.X509KeyPair(srvCertPEM, srvKeyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair(server): %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type result struct {
		cn  string
		err error
	}
	results := make(chan result)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			err = tc.Handshake()
			var r result
			if err != nil {
				r.err = err
			} else {
				r.cn = tc.ConnectionState().PeerCertificates[0].Subject.CommonName
				_, _ = tc.Write([]byte("ok"))
			}
			tc.Close()
			results <- r
		}
	}()

	rogue := mustCA(t, "rogue-ca")
	tests := []struct {
		name       string
		cert       tls.Certificate
		serverName string
		wantCN     string // empty: the handshake must fail
	}{
		{"node of this CA by name", nodeCert(t, ca, "node-1"), "localhost", "node-1"},
		{"node of this CA by IP", nodeCert(t, ca, "node-2"), "127.0.0.1", "node-2"},
		{"node of another CA", nodeCert(t, rogue, "node-1"), "localhost", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{
				Certificates: []tls.Certificate{tt.cert},
				RootCAs:      ca.Pool(),
				ServerName:   tt.serverName,
				MinVersion:   tls.VersionTLS13,
			})
			var reply []byte
			if err == nil {
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				reply, err = io.ReadAll(conn) // in TLS 1.3 a rejected client learns it here
				conn.Close()
			}
			r := <-results
			if tt.wantCN == "" {
				if r.err == nil {
					t.Fatalf("server accepted a client certificate from another CA (CN %q)", r.cn)
				}
				if err == nil && string(reply) == "ok" {
					t.Fatal("client got a reply although the server rejected it")
				}
				return
			}
			if r.err != nil || err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("handshake failed: server %v, client %v", r.err, err)
			}
			if r.cn != tt.wantCN || string(reply) != "ok" {
				t.Fatalf("server saw CN %q and client read %q, want CN %q and reply ok", r.cn, reply, tt.wantCN)
			}
		})
	}
}
