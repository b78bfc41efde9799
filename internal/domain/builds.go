package domain

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// Builds on a node: a user with no Docker Engine of their own uploads a
// build context, and the server has a node build it with its engine and
// push it to the built-in registry. Building runs the Dockerfile's RUN
// steps on that node, so only nodes whose agent was started with
// --allow-builds are ever asked (api.Node.AllowBuilds), and the node
// pushes with a credential that reaches one repository for minutes.

// NodeBuilder builds an image on a node through its agent (the agent
// gateway implements it). Errors are errdefs errors.
type NodeBuilder interface {
	// NodeConnected says whether node has an open agent session.
	NodeConnected(node string) bool
	// NodeBuild sends the build and its context (a tar) to node's agent,
	// copies the build's output to out and returns the pushed digest.
	NodeBuild(ctx context.Context, node string, req api.NodeBuildRequest, context io.Reader, out io.Writer) (string, error)
}

// BuildUserPrefix starts the user name of a build push credential:
// "wharf-build.<node ID>".
const BuildUserPrefix = "wharf-build."

// BuildCredentialValidity is how long a build push credential is valid:
// long enough to push what a build made, short enough to be worth little
// to whoever reads it off the node afterwards.
const BuildCredentialValidity = 15 * time.Minute

// Bounds on a build request's text.
const (
	maxBuildArgs    = 100
	maxBuildArgText = 4096
)

// Build builds the image req names from the tar context on a node of the
// actor's organization whose agent allows builds, and has the node push
// it to the built-in registry as <registry>/<req.Repository>:<req.Tag>.
// The build's output goes to out as it comes; the result names the node
// and the pushed digest. It needs apps.deploy (a build runs the
// Dockerfile's steps on a node) and registry.push (it pushes an image),
// a repository of the actor's organization, and a node that may build:
// without one it is a conflict that says what to do.
func (d *Domain) Build(ctx context.Context, a Actor, req api.BuildRequest, context io.Reader, out io.Writer) (api.BuildResult, error) {
	if err := a.need(AppsDeploy); err != nil {
		return api.BuildResult{}, err
	}
	if err := a.need(RegistryPush); err != nil {
		return api.BuildResult{}, err
	}
	if err := validateBuild(a, req); err != nil {
		return api.BuildResult{}, err
	}
	noteObject(ctx, req.Repository+":"+req.Tag)
	if len(d.cfg.RegistryKey) == 0 || d.cfg.RegistryHost == "" {
		return api.BuildResult{}, newErr(errdefs.ErrUnavailable, "this server runs no built-in registry to push a build to")
	}
	nb, ok := d.cfg.Logs.(NodeBuilder)
	if !ok {
		return api.BuildResult{}, newErr(errdefs.ErrUnavailable, "this server cannot reach agents to build on")
	}
	node, err := d.buildNode(ctx, a, nb)
	if err != nil {
		return api.BuildResult{}, err
	}
	nreq := api.NodeBuildRequest{BuildRequest: req, RegistryHost: d.cfg.RegistryHost, Auth: d.BuildPushCredential(node, req.Repository)}
	digest, err := nb.NodeBuild(ctx, node, nreq, context, out)
	if err != nil {
		return api.BuildResult{Node: node}, err
	}
	return api.BuildResult{Node: node, Digest: digest}, nil
}

// validateBuild checks what a build request names.
func validateBuild(a Actor, req api.BuildRequest) error {
	org := OrgName(a.Org)
	if !repoNameRE.MatchString(req.Repository) || !strings.Contains(req.Repository, "/") {
		return errdefs.Invalid("repository", "%q is not a repository name: want <organization>/<name> in lower case, e.g. %s/web", req.Repository, org)
	}
	if first, _, _ := strings.Cut(req.Repository, "/"); first != org {
		return newErr(errdefs.ErrForbidden, "repository %q is not in organization %s: build images under %s/", req.Repository, org, org)
	}
	if !imageTagRE.MatchString(req.Tag) {
		return errdefs.Invalid("tag", "%q is not an image tag (letters, digits, _ . -, at most 128)", req.Tag)
	}
	if df := req.Dockerfile; df != "" {
		if len(df) > maxBuildArgText || path.IsAbs(df) || !printableText(df) || slices.Contains(strings.Split(df, "/"), "..") {
			return errdefs.Invalid("dockerfile", "%q is not a path inside the build context", df)
		}
	}
	if len(req.Target) > 128 || !printableText(req.Target) {
		return errdefs.Invalid("target", "want a build stage's name, at most 128 printable characters")
	}
	if len(req.Args) > maxBuildArgs {
		return errdefs.Invalid("build_arg", "at most %d build arguments, got %d", maxBuildArgs, len(req.Args))
	}
	for k, v := range req.Args {
		if k == "" || len(k)+len(v) > maxBuildArgText || strings.ContainsAny(k, "= \t\n") || !printableText(k) {
			return errdefs.Invalid("build_arg", "%.64q is not a build argument: want NAME=VALUE, at most %d characters", k, maxBuildArgText)
		}
	}
	return nil
}

func printableText(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}

// buildNode picks the node to build on: a Deployed, active node (not
// paused nor draining) of the actor's organization that runs the docker
// driver, whose agent allows builds and is connected now; one at random
// when several may.
func (d *Domain) buildNode(ctx context.Context, a Actor, nb NodeBuilder) (string, error) {
	nodes, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
	if err != nil {
		return "", err
	}
	var ok []string
	allowing := 0
	for _, n := range nodes {
		if OrgName(n.Org) != OrgName(a.Org) || !n.AllowBuilds || !slices.Contains(n.Drivers, "docker") {
			continue
		}
		allowing++
		if n.State == api.NodeDeployed && n.Available() == api.AvailabilityActive && nb.NodeConnected(n.ID) {
			ok = append(ok, n.ID)
		}
	}
	if len(ok) == 0 {
		why := "no node of organization " + OrgName(a.Org) + " builds images"
		if allowing > 0 {
			why = strconv.Itoa(allowing) + " node(s) of organization " + OrgName(a.Org) + " allow builds, but none is Deployed, active (not paused nor draining) and connected now"
		}
		return "", newErr(errdefs.ErrConflict, "%s: run `wharf stack deploy` where a Docker Engine runs (or set DOCKER_HOST to one), or start an agent with the docker driver and --allow-builds on a node you trust to run your Dockerfiles", why)
	}
	return ok[rand.IntN(len(ok))], nil
}

// buildCredKey is the HMAC key of build push credentials, derived from
// the registry key apart from the node pull credentials' key.
func (d *Domain) buildCredKey() []byte {
	m := hmac.New(sha256.New, d.cfg.RegistryKey)
	m.Write([]byte("wharf node build push credential v1"))
	return m.Sum(nil)
}

func (d *Domain) buildCredMAC(nodeID, repo string, expiry int64) string {
	m := hmac.New(sha256.New, d.buildCredKey())
	m.Write([]byte(nodeID + "\x00" + repo + "\x00" + strconv.FormatInt(expiry, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// BuildPushCredential is the push credential of one build: user
// "wharf-build.<node ID>", password "v1.<expiry>.<repository>.<MAC>"
// under the server's registry key. It pushes and pulls repository repo
// only, for BuildCredentialValidity, and only while the node exists and
// is not Terminated (AuthenticateRegistry). Build sends it to the node it
// picked, with the build; no caller asks for one.
func (d *Domain) BuildPushCredential(nodeID, repo string) api.RegistryAuth {
	expiry := d.cfg.Now().Add(BuildCredentialValidity).Unix()
	pw := "v1." + strconv.FormatInt(expiry, 10) + "." + repo + "." + d.buildCredMAC(nodeID, repo, expiry)
	return api.RegistryAuth{Username: BuildUserPrefix + nodeID, Password: pw}
}

// authenticateBuildCredential is the actor of a build push credential:
// its node, with push access to the one repository the credential names.
func (d *Domain) authenticateBuildCredential(ctx context.Context, id, password string) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "wrong or expired build push credential")
	if len(d.cfg.RegistryKey) == 0 || len(password) > 512 {
		return Actor{}, wrong
	}
	ver, rest, _ := strings.Cut(password, ".")
	exp, rest, _ := strings.Cut(rest, ".")
	i := strings.LastIndexByte(rest, '.')
	if ver != "v1" || i <= 0 {
		return Actor{}, wrong
	}
	repo, mac := rest[:i], rest[i+1:]
	expiry, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(mac), []byte(d.buildCredMAC(id, repo, expiry))) {
		return Actor{}, wrong
	}
	if !d.cfg.Now().Before(time.Unix(expiry, 0)) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "the build push credential of node %q for %s expired", id, repo)
	}
	a, _, err := d.nodeActorOf(ctx, id)
	if err != nil {
		return Actor{}, err
	}
	if first, _, _ := strings.Cut(repo, "/"); first != OrgName(a.Org) {
		return Actor{}, wrong
	}
	a.Name = "build:" + id
	a.Access = Access{AreaRegistry: ReadWrite}
	a.Role = api.RoleDeploy
	a.onlyRepo = repo
	return a, nil
}
