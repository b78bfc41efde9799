package gateway

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

var (
	hostnameRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$`)
	labelKeyRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
	labelValueRe = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$`)
)

// maxLabels caps the labels one node may carry.
const maxLabels = 64

// Join admits a host as a node. With a join token alone it only ever
// creates a new node: the node and one use of the token go into the same
// store transaction, so a token's use limit holds however many joins race.
// Re-identifying as an existing node (req.NodeID) also needs proof that the
// joiner holds that node's key: peer, the TLS client certificates of the
// join's connection, must be the node's current or previous certificate
// (see proveNode). req.Labels are taken for a new node only; a rejoin keeps
// the labels the node has. remoteAddr is only logged.
func (g *Gateway) Join(ctx context.Context, req api.JoinRequest, remoteAddr string, peer []*x509.Certificate) (api.JoinResponse, error) {
	tok, err := g.checkJoinToken(ctx, req.Token)
	if err != nil {
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
	var resp api.JoinResponse
	if req.NodeID != "" {
		var node api.Node
		err := g.store.Get(ctx, store.KindNodes, req.NodeID, &node)
		switch {
		case err == nil && orgName(node.Org) != orgName(tok.Org):
			// A node stays in its organization: another's join token
			// cannot take it over, even with the node's key.
			err = fmt.Errorf("%w: join token %s is organization %q's, and node %s is not; rejoin with a join token of the node's organization",
				errdefs.ErrForbidden, tok.ID, orgName(tok.Org), node.ID)
		case err == nil:
			resp, err = g.rejoin(ctx, req, &node, peer, remoteAddr)
		case errdefs.IsNotFound(err):
			// The node was removed: this host joins as a new one.
			resp, err = g.joinNew(ctx, req, tok, remoteAddr)
		}
		if err != nil {
			g.log.Warn("rejoin refused", "node", req.NodeID, "remote", remoteAddr, "hostname", req.Hostname, "err", err)
			return api.JoinResponse{}, err
		}
	} else if resp, err = g.joinNew(ctx, req, tok, remoteAddr); err != nil {
		return api.JoinResponse{}, err
	}
	g.noteState(resp.NodeID, api.NodeDeploying)
	resp.CA, resp.Gateway = string(g.cfg.CA.CertPEM()), gw
	return resp, nil
}

// joinNew creates a new node in the join token's organization, using tok
// once in the same transaction. Past the organization's Nodes quota it
// refuses (forbidden).
func (g *Gateway) joinNew(ctx context.Context, req api.JoinRequest, tok *records.JoinToken, remoteAddr string) (api.JoinResponse, error) {
	for attempt := 1; ; attempt++ {
		resp, err := g.joinNewOnce(ctx, req, tok, remoteAddr)
		if errors.Is(err, errQuotaRace) && attempt < 8 {
			continue // another join counted against the quota meanwhile: count again
		}
		if errors.Is(err, errQuotaRace) {
			return resp, fmt.Errorf("%w: too many nodes joined organization %q at once; try again", errdefs.ErrConflict, orgName(tok.Org))
		}
		return resp, err
	}
}

// errQuotaRace is a join that met another join of the same organization
// under a Nodes quota.
var errQuotaRace = errors.New("node quota: concurrent join")

// orgName is the organization of an object with org field o.
func orgName(o string) string {
	if o == "" {
		return "default"
	}
	return o
}

// nodeQuota reads the Nodes quota of org and, when there is one, refuses
// a new node that would pass it. It returns the organization object to
// write back unchanged in the join's transaction (nil without a quota):
// its revision check makes two joins racing for the last place conflict.
func (g *Gateway) nodeQuota(ctx context.Context, org string) (*api.Org, error) {
	var o api.Org
	if err := g.store.Get(ctx, store.KindOrgs, org, &o); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("join: read organization %s: %w", org, err)
	}
	if o.Quotas.Nodes <= 0 {
		return nil, nil
	}
	nodes, _, err := store.ListAll[api.Node](ctx, g.store, store.KindNodes)
	if err != nil {
		return nil, fmt.Errorf("join: list nodes: %w", err)
	}
	n := 0
	for _, nd := range nodes {
		if orgName(nd.Org) == org {
			n++
		}
	}
	if n >= o.Quotas.Nodes {
		return nil, fmt.Errorf("%w: organization %q has a quota of %d nodes and has %d; remove a node (`wharf node rm`) or ask an administrator for a larger quota",
			errdefs.ErrForbidden, org, o.Quotas.Nodes, n)
	}
	return &o, nil
}

func (g *Gateway) joinNewOnce(ctx context.Context, req api.JoinRequest, tok *records.JoinToken, remoteAddr string) (api.JoinResponse, error) {
	org := orgName(tok.Org)
	quota, err := g.nodeQuota(ctx, org)
	if err != nil {
		return api.JoinResponse{}, err
	}
	id, err := newNodeID()
	if err != nil {
		return api.JoinResponse{}, err
	}
	certPEM, serial, err := g.cfg.CA.SignNodeCSR([]byte(req.CSR), id, g.cfg.NodeCertValidity)
	if err != nil {
		return api.JoinResponse{}, errdefs.Invalid("csr", "cannot sign the certificate request: %v", err)
	}
	node := api.Node{
		Meta:       api.Meta{ID: id, Name: req.Hostname, Org: org},
		Labels:     req.Labels,
		Hostname:   req.Hostname,
		CertSerial: serial,
	}
	ev, err := lifecycle.NewNode(&node, fmt.Sprintf("node %s (%s) joined from %s with join token %s", id, node.Hostname, remoteAddr, tok.ID))
	if err != nil {
		return api.JoinResponse{}, err
	}
	t := g.store.Txn()
	t.Use(store.KindJoinTokens, tok.ID, tok.MaxUses)
	t.Create(store.KindNodes, &node)
	if quota != nil {
		t.Update(store.KindOrgs, quota)
	}
	t.Emit(ev)
	switch err := t.Commit(ctx); {
	case quota != nil && errors.Is(err, store.ErrConflict):
		return api.JoinResponse{}, errQuotaRace
	case errors.Is(err, store.ErrUsedUp):
		return api.JoinResponse{}, usedUp(tok)
	case errors.Is(err, store.ErrNotFound):
		return api.JoinResponse{}, fmt.Errorf("%w: join token %s was revoked while this host joined; make a new one with `wharf node join-token`", errdefs.ErrUnauthorized, tok.ID)
	case err != nil:
		return api.JoinResponse{}, fmt.Errorf("join: write node %s: %w", id, err)
	}
	g.log.Info("node joined", "node", id, "hostname", req.Hostname, "remote", remoteAddr, "join_token", tok.ID)
	return api.JoinResponse{NodeID: id, Certificate: string(certPEM)}, nil
}

// rejoin re-issues the certificate of node to a joiner that proved it is
// that node (proveNode).
func (g *Gateway) rejoin(ctx context.Context, req api.JoinRequest, node *api.Node, peer []*x509.Certificate, remoteAddr string) (api.JoinResponse, error) {
	id := node.ID
	proof, err := g.proveNode(peer, node)
	if err != nil {
		return api.JoinResponse{}, err
	}
	certPEM, serial, err := g.cfg.CA.SignNodeCSR([]byte(req.CSR), id, g.cfg.NodeCertValidity)
	if err != nil {
		return api.JoinResponse{}, errdefs.Invalid("csr", "cannot sign the certificate request: %v", err)
	}
	err = g.store.Modify(ctx, store.KindNodes, id, node, func() ([]api.Event, error) {
		if node.State == api.NodeTerminating || node.State == api.NodeTerminated {
			return nil, fmt.Errorf("%w: node %s is being removed; join as a new node (delete the agent's data dir)", errdefs.ErrConflict, id)
		}
		// The certificate that proved the identity must still be the
		// node's: a renewal or another rejoin in between retired it.
		if !serialMatches(node.CertSerial, proof) && !serialMatches(node.PrevCertSerial, proof) {
			return nil, fmt.Errorf("%w: node %s's certificate changed while this host rejoined; try again", errdefs.ErrConflict, id)
		}
		node.Hostname = req.Hostname
		node.Name = req.Hostname
		// Labels from a join apply at the first join only: the
		// user may have changed them since (wharf node label).
		node.CertSerial, node.PrevCertSerial = serial, ""
		ev, _, err := lifecycle.MoveNode(node, api.NodeDeploying, fmt.Sprintf("node %s (%s) rejoined from %s", id, node.Hostname, remoteAddr))
		if err != nil {
			return nil, err
		}
		return []api.Event{ev}, nil
	})
	if err != nil {
		return api.JoinResponse{}, fmt.Errorf("join: write node %s: %w", id, err)
	}
	g.log.Info("node rejoined", "node", id, "hostname", req.Hostname, "remote", remoteAddr)
	return api.JoinResponse{NodeID: id, Certificate: string(certPEM)}, nil
}

// proveNode checks that peer (the join connection's TLS client
// certificates; the handshake proved the joiner holds the first one's key)
// is node n's certificate: signed by the cluster CA for client use, with
// the node ID as common name and the node's current or previous serial. It
// returns that serial.
//
// An expired certificate still proves the identity: only the node's latest
// certificates match its stored serials, so this is the key the node
// itself holds, and the join also needs a live join token. It lets an agent
// that was away longer than its certificate lives come back as the same
// node, keeping its containers, instead of forcing a new node.
func (g *Gateway) proveNode(peer []*x509.Certificate, n *api.Node) (*big.Int, error) {
	howTo := fmt.Sprintf("a join token alone only makes new nodes. If this host lost node %s's key, remove the node "+
		"(`wharf node rm %s`), delete the agent's data dir and start the agent with a join token to join as a new node", n.ID, n.ID)
	if len(peer) == 0 {
		return nil, fmt.Errorf("%w: rejoining as node %s needs that node's certificate as the TLS client certificate of the join; %s",
			errdefs.ErrForbidden, n.ID, howTo)
	}
	leaf := peer[0]
	at := time.Now()
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: g.cfg.CA.Pool(), Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: the client certificate of this join is not one the cluster CA issued (%v); %s", errdefs.ErrForbidden, err, howTo)
	case leaf.Subject.CommonName != n.ID:
		return nil, fmt.Errorf("%w: the client certificate of this join is node %q's, not node %s's; %s", errdefs.ErrForbidden, leaf.Subject.CommonName, n.ID, howTo)
	case !serialMatches(n.CertSerial, leaf.SerialNumber) && !serialMatches(n.PrevCertSerial, leaf.SerialNumber):
		return nil, fmt.Errorf("%w: the client certificate of this join is no longer node %s's (it was renewed or replaced since); %s", errdefs.ErrForbidden, n.ID, howTo)
	}
	return leaf.SerialNumber, nil
}

// checkJoinToken finds the stored join token whose secret the token carries,
// for this cluster's CA, and checks that it is neither expired nor used up.
func (g *Gateway) checkJoinToken(ctx context.Context, token string) (*records.JoinToken, error) {
	tok, err := pki.ParseJoinToken(strings.TrimSpace(token))
	if err != nil {
		return nil, fmt.Errorf("%w: malformed join token: %v", errdefs.ErrUnauthorized, err)
	}
	if !strings.EqualFold(tok.CADigest, g.cfg.CA.Digest()) {
		return nil, fmt.Errorf("%w: join token was made for another cluster (its CA digest is not this cluster's)", errdefs.ErrUnauthorized)
	}
	stored, err := store.ListJoinTokens(ctx, g.store)
	if err != nil {
		return nil, fmt.Errorf("join: list join tokens: %w", err)
	}
	for _, t := range stored {
		if t.Hash == "" || !pki.SecretMatches(tok.Secret, t.Hash) {
			continue
		}
		if !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt) {
			return nil, fmt.Errorf("%w: join token %s expired at %s; make a new one with `wharf node join-token` (--ttl sets how long it lives)",
				errdefs.ErrUnauthorized, t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if t.MaxUses > 0 && t.Uses >= t.MaxUses {
			return nil, usedUp(t)
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: join token is not valid (unknown or revoked)", errdefs.ErrUnauthorized)
}

func usedUp(t *records.JoinToken) error {
	return fmt.Errorf("%w: join token %s is used up: %d nodes joined with it, its limit; make a new one with `wharf node join-token` (--uses sets how many nodes it may join)",
		errdefs.ErrUnauthorized, t.ID, t.MaxUses)
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
