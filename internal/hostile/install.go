package hostile

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/pki"
)

// BusyboxGODEBUG is the GODEBUG setting that lets a Go TLS server talk to
// busybox wget's own TLS (1.35 sends no signature_algorithms, which Go
// refuses unless tlssha1=1). An attacker picks whatever TLS stack the victim
// speaks; a test that plays busybox against InstallServer sets GODEBUG to
// this in its process (t.Setenv).
const BusyboxGODEBUG = "tlssha1=1"

// InstallServer is a fake Wharf server for the install one-liner. It answers
// HTTPS on the address the test names (the one a real server's one-liner
// names) with a certificate from a CA of its own that bears the cluster
// CA's name, and serves:
//
//   - GET /install.sh: a script that writes its arguments (the join token
//     among them) into Marker: what the attacker runs as root and collects;
//   - GET /download/<file> (wharf-agent-linux-<arch>): Binary, a "wharf"
//     that appends to Marker when it runs (the install script runs
//     `wharf-agent agent --help`);
//   - GET /download/<file>.sha256: Binary's true SHA-256, so
//     that a checksum fetched from here vouches for the tampered binary.
//
// It records every TLS ClientHello and every HTTP request it gets.
type InstallServer struct {
	URL    string // https://addr
	Marker string // the file the fake script and binary write
	Binary []byte

	srv    *http.Server
	ln     net.Listener
	done   chan struct{}
	mu     sync.Mutex
	hellos int
	reqs   []string
}

// StartInstallServer listens on addr ("127.0.0.1:0" for any port) and
// serves until Close.
func StartInstallServer(addr, marker string) (*InstallServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("hostile: install server address %q: %w", addr, err)
	}
	ca, err := pki.NewCA("Wharf cluster CA") // the real one's name, not its key
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{host}, time.Hour)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hostile: install server: %w", err)
	}
	s := &InstallServer{
		URL:    "https://" + ln.Addr().String(),
		Marker: marker,
		Binary: []byte("#!/bin/sh\necho \"tampered wharf ran: $*\" >>" + shellQuote(marker) + "\n"),
		ln:     ln,
		done:   make(chan struct{}),
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			s.hellos++
			s.mu.Unlock()
			return nil, nil
		},
	}
	// Refused handshakes are the expected outcome: keep them out of the log.
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(tls.NewListener(ln, cfg))
	}()
	return s, nil
}

func (s *InstallServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.reqs = append(s.reqs, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/install.sh":
		_, _ = io.WriteString(w, "#!/bin/sh\necho \"$@\" >"+shellQuote(s.Marker)+"\n")
	case strings.HasPrefix(r.URL.Path, "/download/") && strings.HasSuffix(r.URL.Path, ".sha256"):
		sum := sha256.Sum256(s.Binary)
		_, _ = fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), strings.TrimSuffix(r.URL.Path[len("/download/"):], ".sha256"))
	case strings.HasPrefix(r.URL.Path, "/download/"):
		_, _ = w.Write(s.Binary)
	default:
		http.NotFound(w, r)
	}
}

// Hellos is how many TLS handshakes clients began: proof that a client
// reached this server, whether or not it went on.
func (s *InstallServer) Hellos() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos
}

// Requests lists every HTTP request that got through the handshake, as
// "METHOD URI BODY".
func (s *InstallServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// Close stops the server and frees its address.
func (s *InstallServer) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// shellQuote single-quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
