package agent

// The witness listener and its client. Before it fences (fence.go), an
// agent that has not heard the server for a while asks a few other nodes'
// agents, its witnesses (api.Assignments.Witnesses), how long ago they
// heard the server. Each agent answers on its witness listener
// (Config.WitnessAddr, `wharf agent --witness-addr`, default :7445).
//
// Who can reach it: anyone who can open a TCP connection to that port.
// What stops an attacker: the listener speaks TLS 1.3 only and requires a
// client certificate that the cluster CA signed for client authentication,
// that is not a Docker API client's (pki.DockerClientOU), and whose common
// name is one of the nodes the server named as this node's askers
// (api.Assignments.Askers: the nodes that have it as a witness); every
// other handshake fails before anything is read. The one thing it answers
// (see serve for the protocol) is how many milliseconds ago this agent had
// a request acknowledged by the server. The asking side checks the
// listener's certificate the same way: signed by the cluster CA, with the
// witness's node ID as its common name, so that nobody else can answer
// "I heard the server" and make a node stop its containers. At most
// witnessConns connections are served at a time; an asker keeps its
// connection (witnessKeep) and each question on it is checked again
// against the askers of the moment.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

const (
	// DefaultWitnessAddr is where `wharf agent` listens for its peers'
	// questions unless told otherwise.
	DefaultWitnessAddr = ":7445"
	// witnessTimeout bounds one question, dial to answer.
	witnessTimeout = time.Second
	// witnessConns and witnessIdle bound what the listener serves: how
	// many connections at once, and how long an answer may take to write.
	witnessConns = 16
	witnessIdle  = 5 * time.Second
	// witnessKeep is how long an asker keeps an idle connection to a
	// witness (longer than witnessProbe, so the probe reuses it); the
	// listener keeps it witnessIdle longer, so that the asker is the one
	// that closes it and never sends on a connection being closed.
	witnessKeep = 150 * time.Second
)

// witnessCreds are what both ends of a witness connection present and
// trust: the node certificate and the cluster CA.
type witnessCreds func() (*tls.Certificate, *x509.CertPool)

// checkNodeCert verifies that chain[0] is a node certificate of the
// cluster: signed by pool's CA for client authentication, not a Docker
// client's; allowed says whether its common name may talk to us.
func checkNodeCert(raw [][]byte, pool *x509.CertPool, allowed func(node string) bool) error {
	if len(raw) == 0 {
		return errors.New("no certificate: a node certificate of this cluster is required")
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("bad certificate: %w", err)
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("certificate not signed by the cluster CA: %w", err)
	}
	if pki.IsDockerClient(leaf) {
		return errors.New("a Docker client certificate is not a node's")
	}
	if !allowed(leaf.Subject.CommonName) {
		return fmt.Errorf("node %q is not one this node answers or asks", leaf.Subject.CommonName)
	}
	return nil
}

// witnessServer answers the witnesses' question.
type witnessServer struct {
	creds  witnessCreds
	askers func(node string) bool
	// silence is how long ago the server acknowledged a request of this
	// agent (negative: never).
	silence func() time.Duration
	log     *slog.Logger
}

// tlsConfig is the listener's: TLS 1.3, a node certificate of an asker
// required.
func (w *witnessServer) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c, _ := w.creds()
			return c, nil
		},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, pool := w.creds()
			return checkNodeCert(raw, pool, w.askers)
		},
	}
}

// The protocol, over one TLS 1.3 connection an asker keeps: the asker
// sends one byte (witnessQuestion), the witness answers with eight, the
// silence in milliseconds as a big-endian int64 (-1: never heard the
// server); again, on the same connection, a minute later. No HTTP, no
// JSON: an idle agent keeps no more goroutines or code in use for it than
// one blocked read per connection (docs/benchmarks.md, "An idle agent").
const witnessQuestion = 'h'

// serve answers on ln until ctx ends.
func (w *witnessServer) serve(ctx context.Context, ln net.Listener) {
	ln = limitListener(ln, witnessConns)
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var conns sync.WaitGroup
	defer conns.Wait()
	live := map[net.Conn]bool{}
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		for c := range live {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	cfg := w.tlsConfig()
	for {
		raw, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				w.log.Debug("witness listener stopped", "err", err)
			}
			return
		}
		c := tls.Server(raw, cfg)
		mu.Lock()
		live[c] = true
		mu.Unlock()
		conns.Go(func() {
			defer func() {
				mu.Lock()
				delete(live, c)
				mu.Unlock()
				_ = c.Close()
			}()
			w.answer(c)
		})
	}
}

// answer serves one connection: the handshake (which checks the asker),
// then each question, checked again against the askers of the moment (the
// server may have given this node other askers since), until the asker
// closes it or leaves it idle longer than it would itself.
func (w *witnessServer) answer(c *tls.Conn) {
	// An asker asks within witnessTimeout, dial and handshake included: a
	// connection that has not finished its handshake by then is nobody's
	// question, only a slot held.
	_ = c.SetDeadline(time.Now().Add(witnessTimeout))
	if err := c.Handshake(); err != nil {
		w.log.Debug("witness handshake refused", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	peer := c.ConnectionState().PeerCertificates[0].Subject.CommonName
	var q [1]byte
	for {
		_ = c.SetDeadline(time.Now().Add(witnessKeep + witnessIdle))
		if _, err := io.ReadFull(c, q[:]); err != nil || q[0] != witnessQuestion {
			return
		}
		if !w.askers(peer) {
			w.log.Debug("witness: no longer an asker; closing", "node", peer)
			return
		}
		ms := int64(-1)
		if d := w.silence(); d >= 0 {
			ms = d.Milliseconds()
		}
		var a [8]byte
		binary.BigEndian.PutUint64(a[:], uint64(ms))
		_ = c.SetDeadline(time.Now().Add(witnessIdle))
		if _, err := c.Write(a[:]); err != nil {
			return
		}
	}
}

// witnessClient asks the witnesses, over one kept connection to each: the
// TLS handshake (and the certificate checks on both ends) is paid once per
// witness, not on every question, which keeps the once-a-minute probe
// cheap.
type witnessClient struct {
	creds witnessCreds
	mu    sync.Mutex
	conns map[string]*witnessConn // by node ID
}

// witnessConn is the connection to one witness, bound to its node ID and
// address; one question at a time.
type witnessConn struct {
	addr string
	mu   sync.Mutex
	c    *tls.Conn // nil until dialled, and after a failure
	used time.Time
}

func newWitnessClient(creds witnessCreds) *witnessClient {
	return &witnessClient{creds: creds, conns: map[string]*witnessConn{}}
}

// conn is wt's connection record, made (or made again, when its address
// changed) on first use.
func (c *witnessClient) conn(wt api.Witness) *witnessConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wc := c.conns[wt.Node]; wc != nil && wc.addr == wt.Address {
		return wc
	} else if wc != nil {
		wc.close()
	}
	wc := &witnessConn{addr: wt.Address}
	c.conns[wt.Node] = wc
	return wc
}

// keep closes the connections to nodes that are no longer witnesses.
func (c *witnessClient) keep(ws []api.Witness) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for node, wc := range c.conns {
		if !slices.ContainsFunc(ws, func(w api.Witness) bool { return w.Node == node }) {
			wc.close()
			delete(c.conns, node)
		}
	}
}

// close closes every connection.
func (c *witnessClient) close() { c.keep(nil) }

func (wc *witnessConn) close() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.c != nil {
		_ = wc.c.Close()
		wc.c = nil
	}
}

// tlsConfig is the asker's side for witness node: its node certificate
// offered, the witness's checked for the cluster CA and node's ID.
func (c *witnessClient) tlsConfig(node string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			crt, _ := c.creds()
			return crt, nil
		},
		// Node certificates are client certificates named by node ID, not
		// by host: the peer's is checked by hand, for its CA and its ID.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyPeerCertificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, pool := c.creds()
			return checkNodeCert(raw, pool, func(n string) bool { return n == node })
		},
	}
}

// ask asks one witness how long ago it heard the server, within
// witnessTimeout: on its kept connection, or on a new one when there is
// none, it has been idle as long as the witness keeps it, or it fails.
func (c *witnessClient) ask(ctx context.Context, wt api.Witness) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	wc := c.conn(wt)
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.c != nil && time.Since(wc.used) >= witnessKeep {
		_ = wc.c.Close()
		wc.c = nil
	}
	for attempt := 0; ; attempt++ {
		fresh := wc.c == nil
		if fresh {
			d := tls.Dialer{NetDialer: &net.Dialer{}, Config: c.tlsConfig(wt.Node)}
			conn, err := d.DialContext(ctx, "tcp", wt.Address)
			if err != nil {
				return 0, fmt.Errorf("witness %s: %w", wt.Node, err)
			}
			wc.c = conn.(*tls.Conn)
		}
		d, err := wc.question(ctx)
		if err == nil {
			wc.used = time.Now()
			return d, nil
		}
		_ = wc.c.Close()
		wc.c = nil
		// A kept connection the witness has closed (it restarted) fails
		// at once: ask again on a new one, within the same time.
		if fresh || attempt > 0 || ctx.Err() != nil {
			return 0, fmt.Errorf("witness %s: %w", wt.Node, err)
		}
	}
}

// question sends the question on wc's connection and reads the answer.
func (wc *witnessConn) question(ctx context.Context) (time.Duration, error) {
	deadline, _ := ctx.Deadline()
	_ = wc.c.SetDeadline(deadline)
	if _, err := wc.c.Write([]byte{witnessQuestion}); err != nil {
		return 0, err
	}
	var a [8]byte
	if _, err := io.ReadFull(wc.c, a[:]); err != nil {
		return 0, err
	}
	ms := int64(binary.BigEndian.Uint64(a[:]))
	if ms < 0 {
		return -1, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// askAll asks every witness of ws at once (and forgets the others); it
// returns the silences of those that answered (negative: that witness
// never heard the server).
func (c *witnessClient) askAll(ctx context.Context, ws []api.Witness) []time.Duration {
	c.keep(ws)
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	for _, wt := range ws {
		wg.Go(func() {
			d, err := c.ask(ctx, wt)
			if err != nil {
				return
			}
			mu.Lock()
			out = append(out, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(out)
	return out
}

// limitListener serves at most n connections at a time; the others wait
// in the kernel's backlog.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limited{Listener: ln, sem: make(chan struct{}, n)}
}

type limited struct {
	net.Listener
	sem chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
