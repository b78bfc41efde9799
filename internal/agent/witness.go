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
// other handshake fails before any HTTP is read. The one thing it answers,
// to GET /witness/v1/heard, is how many milliseconds ago this agent had a
// request acknowledged by the server. The asking side checks the
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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	// witnessPath is the one thing the listener answers.
	witnessPath = "/witness/v1/heard"
	// witnessTimeout bounds one question, dial to answer.
	witnessTimeout = time.Second
	// witnessConns and witnessIdle bound what the listener serves: how
	// many connections at once, and how long one request may take.
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

// serve answers on ln until ctx ends.
func (w *witnessServer) serve(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+witnessPath, func(rw http.ResponseWriter, r *http.Request) {
		// The handshake checked the asker; a kept-alive connection is
		// checked again on each question, in case the server has since
		// given this node other askers.
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !w.askers(r.TLS.PeerCertificates[0].Subject.CommonName) {
			rw.Header().Set("Connection", "close")
			http.Error(rw, "not one of this node's askers", http.StatusForbidden)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		ms := int64(-1)
		if d := w.silence(); d >= 0 {
			ms = d.Milliseconds()
		}
		_ = json.NewEncoder(rw).Encode(api.WitnessAnswer{SilenceMS: ms})
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: witnessTimeout,
		ReadTimeout:       witnessIdle,
		WriteTimeout:      witnessIdle,
		IdleTimeout:       witnessKeep + witnessIdle,
		MaxHeaderBytes:    4 << 10,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	_ = srv.Serve(tls.NewListener(limitListener(ln, witnessConns), w.tlsConfig()))
}

// witnessClient asks the witnesses, over one kept-alive connection to
// each: the TLS handshake (and the certificate checks on both ends) is paid
// once per witness, not on every question. That keeps the once-a-minute
// probe cheap, and out of an idle agent's memory: a handshake's code is
// otherwise faulted back in every minute (docs/benchmarks.md, "An idle
// agent").
type witnessClient struct {
	creds witnessCreds
	mu    sync.Mutex
	trs   map[string]*witnessTransport // by node ID
}

// witnessTransport is one witness's connection pool, bound to its node ID
// and address.
type witnessTransport struct {
	addr string
	tr   *http.Transport
}

func newWitnessClient(creds witnessCreds) *witnessClient {
	return &witnessClient{creds: creds, trs: map[string]*witnessTransport{}}
}

// transport is wt's pool, made (or made again, when its address changed)
// on first use.
func (c *witnessClient) transport(wt api.Witness) *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.trs[wt.Node]; t != nil && t.addr == wt.Address {
		return t.tr
	} else if t != nil {
		t.tr.CloseIdleConnections()
	}
	node := wt.Node
	cfg := &tls.Config{
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
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: false,
		MaxIdleConnsPerHost: 1, IdleConnTimeout: witnessKeep,
		DialContext: (&net.Dialer{Timeout: witnessTimeout}).DialContext}
	c.trs[node] = &witnessTransport{addr: wt.Address, tr: tr}
	return tr
}

// keep closes the connections to nodes that are no longer witnesses.
func (c *witnessClient) keep(ws []api.Witness) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for node, t := range c.trs {
		if !slices.ContainsFunc(ws, func(w api.Witness) bool { return w.Node == node }) {
			t.tr.CloseIdleConnections()
			delete(c.trs, node)
		}
	}
}

// close closes every connection.
func (c *witnessClient) close() { c.keep(nil) }

// ask asks one witness how long ago it heard the server.
func (c *witnessClient) ask(ctx context.Context, wt api.Witness) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+wt.Address+witnessPath, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.transport(wt).RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("witness %s answered %s", wt.Node, resp.Status)
	}
	var ans api.WitnessAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<10)).Decode(&ans); err != nil {
		return 0, fmt.Errorf("witness %s: %w", wt.Node, err)
	}
	if ans.SilenceMS < 0 {
		return -1, nil
	}
	return time.Duration(ans.SilenceMS) * time.Millisecond, nil
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
