package domain

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

// The built-in registry's callers: users (and robots) with an API token
// as the password of HTTP Basic auth, and nodes, which pull with their
// node certificate or with a short-lived pull credential that the server
// signs for them (NodeRegistryCredential). A node is an actor with read
// access to its organization's registry and nothing else.

// NodeUserPrefix starts the user name of a node's pull credential:
// "wharf-node.<node ID>" (HTTP Basic auth allows no colon in a user name).
const NodeUserPrefix = api.NodeRegistryUserPrefix

// NodeCredentialValidity is how long a node pull credential is valid at
// least; one issued in the same half hour is the same credential, valid
// up to half an hour longer.
const NodeCredentialValidity = time.Hour

var (
	// repoNameRE is a repository name as distribution takes it, at least
	// "<org>/<name>" for the registry's own checks.
	repoNameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	imageTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// nodeCredKey is the HMAC key of node pull credentials, derived from the
// server's registry key so that the key itself signs nothing.
func (d *Domain) nodeCredKey() []byte {
	m := hmac.New(sha256.New, d.cfg.RegistryKey)
	m.Write([]byte("wharf node pull credential v1"))
	return m.Sum(nil)
}

func (d *Domain) nodeCredMAC(nodeID string, expiry int64) string {
	m := hmac.New(sha256.New, d.nodeCredKey())
	m.Write([]byte(nodeID + "\x00" + strconv.FormatInt(expiry, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NodeRegistryCredential is the pull credential for node n at the
// built-in registry: user "wharf-node.<id>", password "v1.<expiry>.<MAC>"
// under the server's registry key. It pulls the images of n's
// organization only, and only while n exists and is not Terminated; the
// gateway sends it with the assignments (never to another node) and the
// agent holds it in memory. It is not an operation any caller asks for:
// only the server hands it out, to the node it names.
func (d *Domain) NodeRegistryCredential(n api.Node) (api.RegistryAuth, error) {
	if len(d.cfg.RegistryKey) == 0 {
		return api.RegistryAuth{}, newErr(errdefs.ErrUnavailable, "this server has no registry key: it issues no node pull credentials")
	}
	if n.ID == "" {
		return api.RegistryAuth{}, errdefs.Invalid("node", "a node pull credential needs the node's ID")
	}
	const window = 30 * time.Minute
	expiry := d.cfg.Now().Truncate(window).Add(window + NodeCredentialValidity).Unix()
	pw := "v1." + strconv.FormatInt(expiry, 10) + "." + d.nodeCredMAC(n.ID, expiry)
	return api.RegistryAuth{Username: NodeUserPrefix + n.ID, Password: pw}, nil
}

// AuthenticateRegistry turns the HTTP Basic credentials a registry
// request came with into an actor in organization org (the repository's
// first path element; "" for the token's own). A node pull credential
// (user "wharf-node.<id>") is checked against the registry key and the
// node; any other user name takes the password as an API token through
// Authenticate, as the REST API does. Wrong credentials are
// errdefs.ErrUnauthorized errors.
func (d *Domain) AuthenticateRegistry(ctx context.Context, username, password, org string) (Actor, error) {
	if id, ok := strings.CutPrefix(username, NodeUserPrefix); ok {
		return d.authenticateNodeCredential(ctx, id, password)
	}
	if id, ok := strings.CutPrefix(username, BuildUserPrefix); ok {
		return d.authenticateBuildCredential(ctx, id, password)
	}
	if password == "" {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "no API token: log in with `docker login` and a Wharf API token as the password")
	}
	return d.Authenticate(ctx, password, org)
}

func (d *Domain) authenticateNodeCredential(ctx context.Context, id, password string) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "wrong or expired node pull credential")
	if len(d.cfg.RegistryKey) == 0 || len(password) > 128 {
		return Actor{}, wrong
	}
	parts := strings.Split(password, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return Actor{}, wrong
	}
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Actor{}, wrong
	}
	if !hmac.Equal([]byte(parts[2]), []byte(d.nodeCredMAC(id, expiry))) {
		return Actor{}, wrong
	}
	if !d.cfg.Now().Before(time.Unix(expiry, 0)) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "node pull credential of node %q expired: its agent gets a new one with its next assignments", id)
	}
	return d.nodeActor(ctx, id)
}

// AuthenticateNodeCert turns the TLS client certificate a registry
// request came with into its node's actor: a certificate the cluster CA
// signed for client auth, that is its node's current one (a renewed or
// rejoined node's old certificate is refused), of a node that exists and
// is not Terminated.
func (d *Domain) AuthenticateNodeCert(ctx context.Context, chain []*x509.Certificate) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "the client certificate is not a current node certificate of this cluster")
	if d.cfg.ClusterCA == nil || len(chain) == 0 {
		return Actor{}, wrong
	}
	roots := x509.NewCertPool()
	roots.AddCert(d.cfg.ClusterCA)
	leaf := chain[0]
	if pki.IsDockerClient(leaf) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "a Docker client certificate is not a node's: log in to the registry with an API token (`wharf registry login`)")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: d.cfg.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return Actor{}, wrong
	}
	a, n, err := d.nodeActorOf(ctx, leaf.Subject.CommonName)
	if err != nil {
		return Actor{}, err
	}
	if n.CertSerial == "" || leaf.SerialNumber == nil || n.CertSerial != leaf.SerialNumber.String() {
		return Actor{}, wrong
	}
	return a, nil
}

func (d *Domain) nodeActor(ctx context.Context, id string) (Actor, error) {
	a, _, err := d.nodeActorOf(ctx, id)
	return a, err
}

// nodeActorOf is node id's actor: read access to its organization's
// registry, nothing else.
func (d *Domain) nodeActorOf(ctx context.Context, id string) (Actor, api.Node, error) {
	var n api.Node
	if err := d.st.Get(ctx, store.KindNodes, id, &n); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Actor{}, n, newErr(errdefs.ErrUnauthorized, "node %q no longer exists", id)
		}
		return Actor{}, n, err
	}
	if n.State == api.NodeTerminated {
		return Actor{}, n, newErr(errdefs.ErrUnauthorized, "node %q was removed", id)
	}
	return Actor{Name: "node:" + id, Org: OrgName(n.Org), Access: Access{AreaRegistry: Read}, Role: api.RoleReadOnly}, n, nil
}

// AuthorizeRegistry decides whether a may use v (registry.pull, .push or
// .admin) on repository repo ("<org>/<name...>"; "" for the registry's
// base and catalog). Another organization's repository is not found,
// exactly like a missing one; so is any repository but its own for a
// build push credential.
func (d *Domain) AuthorizeRegistry(ctx context.Context, a Actor, repo string, v Verb) error {
	if err := a.need(v); err != nil {
		return err
	}
	switch v {
	case RegistryPull, RegistryPush, RegistryAdmin:
	default:
		return errdefs.Invalid("verb", "%s is not a registry verb", v)
	}
	if repo == "" {
		return nil
	}
	org, rest, ok := strings.Cut(repo, "/")
	if !ok || rest == "" {
		return newErr(errdefs.ErrNotFound, "repository %q not found: repositories are named <organization>/<name>, e.g. %s/%s", repo, OrgName(a.Org), repo)
	}
	if org != OrgName(a.Org) || a.onlyRepo != "" && repo != a.onlyRepo {
		return newErr(errdefs.ErrNotFound, "repository %q not found", repo)
	}
	return nil
}
