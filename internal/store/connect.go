package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// External is how to reach and log in to an external etcd cluster: TLS
// with the cluster's CA and a client certificate, and/or etcd's own
// users. The password is given as a value here; where it comes from (a
// file or the environment, never the command line) is the caller's
// business.
type External struct {
	Endpoints []string
	CACert    string // PEM file that verifies the etcd servers (default: system roots)
	Cert, Key string // client certificate and key files, for etcd's --client-cert-auth
	Username  string
	Password  string
}

// tlsConfig is nil when nothing asks for TLS.
func (x External) tlsConfig() (*tls.Config, error) {
	secure := x.CACert != "" || x.Cert != ""
	for _, ep := range x.Endpoints {
		if strings.HasPrefix(ep, "https://") || strings.HasPrefix(ep, "unixs://") {
			secure = true
		}
	}
	if !secure {
		return nil, nil
	}
	if (x.Cert == "") != (x.Key == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together: give both or neither")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if x.CACert != "" {
		pem, err := os.ReadFile(x.CACert)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cacert: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-cacert %s holds no PEM certificate", x.CACert)
		}
	}
	if x.Cert != "" {
		kp, err := tls.LoadX509KeyPair(x.Cert, x.Key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}

// Connect dials an external etcd cluster and checks that it answers a read
// under /wharf with these credentials, so that a wrong certificate or
// password stops the server at start with a message that says which flag
// to fix, not at its first request.
func Connect(ctx context.Context, x External) (*clientv3.Client, error) {
	if len(x.Endpoints) == 0 {
		return nil, errors.New("no etcd endpoints")
	}
	if x.Password != "" && x.Username == "" {
		return nil, errors.New("an etcd password was given without --etcd-user")
	}
	tc, err := x.tlsConfig()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: x.Endpoints, DialTimeout: 5 * time.Second, Context: ctx, Logger: zap.NewNop(),
		TLS: tc, Username: x.Username, Password: x.Password,
	})
	if err != nil {
		return nil, connectError(x, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Get(sctx, "/wharf/health", clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, connectError(x, err)
	}
	return cli, nil
}

// connectError says what to fix for the usual refusals.
func connectError(x External, err error) error {
	at := strings.Join(x.Endpoints, ",")
	switch {
	case errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrGRPCUserEmpty):
		return fmt.Errorf("etcd at %s has authentication enabled: give --etcd-user and the password (--etcd-password-file or $WHARF_ETCD_PASSWORD): %w", at, err)
	case errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrGRPCAuthFailed):
		return fmt.Errorf("etcd at %s refused the user %q: check --etcd-user and the password: %w", at, x.Username, err)
	case errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrGRPCPermissionDenied):
		return fmt.Errorf("etcd at %s: the user %q may not read and write under /wharf/: grant it a role on that prefix: %w", at, x.Username, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("etcd at %s does not answer (if it requires TLS or client certificates, give an https:// endpoint and --etcd-cacert, --etcd-cert, --etcd-key): %w", at, err)
	}
	return fmt.Errorf("etcd at %s: %w", at, err)
}
