package gateway

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

var (
	hostnameRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$`)
	labelKeyRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
	labelValueRe = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$`)
)

// maxLabels caps the labels one node may carry.
const maxLabels = 64

// Join admits a host as a node: it checks the join token, creates (or, for
// a known req.NodeID, re-issues) the node in state Deploying and signs its
// CSR with the node ID as common name. req.Labels are taken for a new node
// only; a rejoin keeps the labels the node has. remoteAddr is only logged.
func (g *Gateway) Join(ctx context.Context, req api.JoinRequest, remoteAddr string) (api.JoinResponse, error) {
	if err := g.checkJoinToken(ctx, req.Token); err != nil {
		g.log.Warn("join refused", "remote", remoteAddr, "hostname", req.Hostname, "err", err)
		return api.JoinResponse{}, err
	}
	if err := validateJoin(req); err != nil {
		return api.JoinResponse{}, err
	}
	gw, err := g.advertised(ctx)
	if err != nil {
		return api.JoinResponse{}, err
	}

	var node api.Node
	rejoin := false
	if req.NodeID != "" {
		err := g.store.Get(ctx, store.KindNodes, req.NodeID, &node)
		switch {
		case err == nil:
			rejoin = true
		case !errdefs.IsNotFound(err):
			return api.JoinResponse{}, err
		}
	}
	id := req.NodeID
	if !rejoin {
		if id, err = newNodeID(); err != nil {
			return api.JoinResponse{}, err
		}
	}

	certPEM, serial, err := g.cfg.CA.SignNodeCSR([]byte(req.CSR), id, g.cfg.NodeCertValidity)
	if err != nil {
		return api.JoinResponse{}, errdefs.Invalid("csr", "cannot sign the certificate request: %v", err)
	}

	if rejoin {
		err = g.store.Modify(ctx, store.KindNodes, id, &node, func() ([]api.Event, error) {
			if node.State == api.NodeTerminating || node.State == api.NodeTerminated {
				return nil, fmt.Errorf("%w: node %s is being removed; join as a new node (delete the agent's data dir)", errdefs.ErrConflict, id)
			}
			node.State = api.NodeDeploying
			node.Hostname = req.Hostname
			node.Name = req.Hostname
			// Labels from a join apply at the first join only: the
			// user may have changed them since (wharf node label).
			node.CertSerial, node.PrevCertSerial = serial, ""
			return []api.Event{{Kind: "node", Object: id, Name: node.Hostname, Type: "state", State: string(api.NodeDeploying),
				Message: fmt.Sprintf("node %s (%s) rejoined from %s", id, node.Hostname, remoteAddr)}}, nil
		})
	} else {
		node = api.Node{
			Meta:       api.Meta{ID: id, Name: req.Hostname},
			Labels:     req.Labels,
			State:      api.NodeDeploying,
			Hostname:   req.Hostname,
			CertSerial: serial,
		}
		err = g.store.Create(ctx, store.KindNodes, &node, api.Event{Kind: "node", Object: id, Name: node.Hostname,
			Type: "created", State: string(api.NodeDeploying), Message: fmt.Sprintf("node %s (%s) joined from %s", id, node.Hostname, remoteAddr)})
	}
	if err != nil {
		return api.JoinResponse{}, fmt.Errorf("join: write node %s: %w", id, err)
	}
	g.noteState(id, api.NodeDeploying)
	g.log.Info("node joined", "node", id, "hostname", req.Hostname, "remote", remoteAddr, "rejoin", rejoin)
	return api.JoinResponse{
		NodeID:      id,
		Certificate: string(certPEM),
		CA:          string(g.cfg.CA.CertPEM()),
		Gateway:     gw,
	}, nil
}

// checkJoinToken accepts a well-formed token for this CA whose secret
// matches a stored join token.
func (g *Gateway) checkJoinToken(ctx context.Context, token string) error {
	tok, err := pki.ParseJoinToken(strings.TrimSpace(token))
	if err != nil {
		return fmt.Errorf("%w: malformed join token: %v", errdefs.ErrUnauthorized, err)
	}
	if !strings.EqualFold(tok.CADigest, g.cfg.CA.Digest()) {
		return fmt.Errorf("%w: join token was made for another cluster (its CA digest is not this cluster's)", errdefs.ErrUnauthorized)
	}
	stored, _, err := store.ListAll[api.JoinToken](ctx, g.store, store.KindJoinTokens)
	if err != nil {
		return fmt.Errorf("join: list join tokens: %w", err)
	}
	for _, t := range stored {
		if t.Hash != "" && pki.SecretMatches(tok.Secret, t.Hash) {
			return nil
		}
	}
	return fmt.Errorf("%w: join token is not valid (unknown or revoked)", errdefs.ErrUnauthorized)
}

func validateJoin(req api.JoinRequest) error {
	if req.Hostname == "" {
		return errdefs.Invalid("hostname", "required")
	}
	if !hostnameRe.MatchString(req.Hostname) {
		return errdefs.Invalid("hostname", "%q is not a valid host name", req.Hostname)
	}
	if len(req.Labels) > maxLabels {
		return errdefs.Invalid("labels", "at most %d labels", maxLabels)
	}
	for k, v := range req.Labels {
		if !labelKeyRe.MatchString(k) {
			return errdefs.Invalid("labels", "label key %q: want 1-63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit", k)
		}
		if !labelValueRe.MatchString(v) {
			return errdefs.Invalid("labels."+k, "label value %q: want up to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", v)
		}
	}
	if req.CSR == "" {
		return errdefs.Invalid("csr", "required")
	}
	block, _ := pem.Decode([]byte(req.CSR))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errdefs.Invalid("csr", "not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return errdefs.Invalid("csr", "cannot parse: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return errdefs.Invalid("csr", "bad signature: %v", err)
	}
	return nil
}

func newNodeID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// advertised is the gateway address handed to agents. Without
// Config.Advertise it is the listener's address, so it waits for Run to
// listen. An unspecified host (":7444") is left for the agent to fill in
// with the API server's host.
func (g *Gateway) advertised(ctx context.Context) (string, error) {
	if g.cfg.Advertise != "" {
		return g.cfg.Advertise, nil
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-g.ready:
		return g.addr, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", fmt.Errorf("%w: the agent gateway is not listening yet", errdefs.ErrUnavailable)
	}
}

// serialMatches compares a stored certificate serial (decimal, as
// pki.SignNodeCSR returns it) with a certificate's.
func serialMatches(stored string, n *big.Int) bool {
	return stored != "" && n != nil && stored == n.String()
}
