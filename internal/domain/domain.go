package domain

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// LogSource streams a container's logs from its node (the agent gateway
// implements it). It returns an errdefs.ErrUnavailable error when the
// node is not connected. tail 0 means every line.
type LogSource interface {
	ContainerLogs(ctx context.Context, c *api.Container, follow bool, tail int, w io.Writer) error
}

// Execer runs a command in a container through its node's agent (the
// agent gateway implements it). Errors are errdefs errors.
type Execer interface {
	ContainerExec(ctx context.Context, c *api.Container, cmd []string) (api.ExecResult, error)
}

// Joiner enrolls a new node (the agent gateway implements it). Errors are
// errdefs errors.
type Joiner interface {
	// peer is the join connection's TLS client certificates (nil when it
	// sent none): a rejoin's proof of the node's identity.
	Join(ctx context.Context, req api.JoinRequest, remoteAddr string, peer []*x509.Certificate) (api.JoinResponse, error)
}

// Config is what the domain layer needs. Only Store is required.
type Config struct {
	Store *store.Store
	// Logs fetches container logs from nodes; when it also implements
	// Execer, exec works too.
	Logs LogSource
	// Join enrolls nodes.
	Join Joiner
	// CADigest is put into join tokens ("" when the server has no CA).
	CADigest string
	// JoinCommand is the command line shown with a new join token.
	JoinCommand func(token string) string
	// AgentCommand is the plain `wharf agent` line for a new join token,
	// for a host that has the binary already.
	AgentCommand func(token string) string
	// Sealer seals secrets' values (nil: secrets cannot be created or
	// updated).
	Sealer *seal.Sealer
	// Resolver resolves images' tags to digests, to pin services' images
	// (pin.go); nil: images are not pinned, nodes pull tags.
	Resolver ImageResolver
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// Images is the built-in registry's storage (nil: the server runs
	// no registry, and the image operations say so).
	Images ImageStore
	// RegistryHost is host:port where clients and nodes reach the
	// built-in registry.
	RegistryHost string
	// RegistryKey signs and verifies the nodes' pull credentials (see
	// NodeRegistryCredential); nil: none is issued or accepted.
	RegistryKey []byte
	// ClusterCA verifies the client certificates nodes present to the
	// registry (nil: none is accepted).
	ClusterCA *x509.Certificate
	// DockerCA signs Docker API client certificates (nil: none is issued,
	// and the Docker endpoint accepts none).
	DockerCA DockerSigner
	// ACME is the server's ACME settings for the routers (nil: none), so
	// that RouterStatus says the same of https routes without a
	// certificate as the route tables the gateway pushes.
	ACME *api.ACMEConfig
}

// Domain holds the operations. Make it with New; it is safe for
// concurrent use.
type Domain struct {
	cfg Config
	st  *store.Store
	// orgLocks serialize, per organization with a containers quota, the
	// changes that count against it (see quotaGuard).
	orgLocks sync.Map // org name -> *sync.Mutex
	// limiter holds each token's request rate (Quotas.TokenRate).
	limiter tokenLimiter
	// rates caches each organization's token rate (see tokenRate).
	rates struct {
		mu sync.Mutex
		m  map[string]cachedRate
	}
	// execs are the Docker endpoint's execs (dockerstreams.go).
	execs execTable
	// pages are the raw pages lists read, kept while the store's
	// revision stays (pagecache.go).
	pages pageCache
}

type cachedRate struct {
	rate float64
	at   time.Time
}

// New checks cfg and returns the domain layer over its store.
func New(cfg Config) (*Domain, error) {
	if cfg.Store == nil {
		return nil, errors.New("domain: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Domain{cfg: cfg, st: cfg.Store}, nil
}

// Store is the store the domain writes (for front doors' health checks
// and raw reads of the kinds whose stored form is their wire form).
func (d *Domain) Store() *store.Store { return d.st }
