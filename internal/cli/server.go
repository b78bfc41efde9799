package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/controller"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/memtrim"
	"github.com/wharfhq/wharf/internal/profiling"
	"github.com/wharfhq/wharf/internal/server"
)

// serverGCPercent is the server's GOGC unless $GOGC is set: the heap may
// grow by half of what was live after the last collection (Go's default is
// 100: by as much again) before the next one. It trades a little CPU for
// memory; see "Hollow nodes" in docs/benchmarks.md.
const serverGCPercent = 50

func newServerCmd(g *globals) *cobra.Command {
	var (
		cfg          server.Config
		endpoints    string
		logLevel     string
		passwordFile string
		acmeCAFile   string
		profileDir   string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Wharf server: REST API, agent gateway, store and controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if endpoints != "" {
				cfg.EtcdEndpoints = strings.Split(endpoints, ",")
			}
			pw, err := etcdPassword(passwordFile)
			if err != nil {
				return err
			}
			cfg.Etcd.Password = pw
			if err := resolveACME(&cfg.ACME, acmeCAFile); err != nil {
				return err
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = log
			cfg.Version = BuildVersion()
			cfg.Out = cmd.OutOrStdout()
			if _, set := os.LookupEnv("GOGC"); !set {
				debug.SetGCPercent(serverGCPercent)
			}
			trimCtx, stopTrim := context.WithCancel(cmd.Context())
			defer stopTrim()
			go memtrim.Run(trimCtx, log, memtrim.Options{})
			if profileDir == "" {
				return server.Run(cmd.Context(), cfg)
			}
			prof, err := profiling.Start(profileDir, log)
			if err != nil {
				return err
			}
			log.Warn("profiling: a CPU profile is being recorded; SIGUSR1 writes heap-N.pprof and cpu-N.pprof", "dir", profileDir)
			err = server.Run(cmd.Context(), cfg)
			return errors.Join(err, prof.Stop())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir("server"), "where the server keeps its data (embedded etcd, certificates, admin token)")
	f.StringVar(&endpoints, "etcd-endpoints", "", "comma-separated URLs of an external etcd cluster (default: embedded etcd in --data-dir); servers sharing one run one at a time, the others wait as standbys")
	f.StringVar(&cfg.Etcd.CACert, "etcd-cacert", "", "CA certificate file that verifies the external etcd's servers")
	f.StringVar(&cfg.Etcd.Cert, "etcd-cert", "", "client certificate file for an external etcd that requires one (--client-cert-auth)")
	f.StringVar(&cfg.Etcd.Key, "etcd-key", "", "key file of --etcd-cert")
	f.StringVar(&cfg.Etcd.Username, "etcd-user", "", "etcd user, for an external etcd with authentication enabled; the password comes from --etcd-password-file or $WHARF_ETCD_PASSWORD")
	f.StringVar(&passwordFile, "etcd-password-file", "", "file holding the password of --etcd-user")
	f.StringVar(&cfg.KEKFile, "kek-file", "", "key-encryption key that seals the cluster's secrets (default: <data-dir>/kek, made on the first start); servers sharing one etcd need the same file")
	f.BoolVar(&cfg.Autolock, "autolock", false, "keep the key-encryption key on no disk: print it once as the unlock key; after a restart the server waits for 'wharf server unlock'")
	f.BoolVar(&cfg.RotateKEK, "rotate-kek", false, "replace the key-encryption key at start (the new one goes to --kek-file, or is printed for a locked cluster)")
	f.StringVar(&cfg.Addr, "addr", ":7443", "API listen address")
	f.StringVar(&cfg.AgentAddr, "agent-addr", ":7444", "agent gateway listen address (mTLS)")
	f.StringVar(&cfg.DockerAddr, "docker-addr", "", "serve the Docker Engine API here (TLS with client certificates from 'wharf docker-env' only), e.g. :2376; default: not served")
	f.StringVar(&cfg.Advertise, "advertise", "", "host name or IP that agents and clients use to reach this server (default: the host name)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "API certificate file (default: one issued by the cluster CA)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "API key file")
	f.BoolVar(&cfg.Insecure, "insecure", false, "serve the API over plain HTTP (loopback addresses only)")
	f.DurationVar(&cfg.HeartbeatGrace, "heartbeat-grace", gateway.DefaultHeartbeatGrace, "a node without heartbeats this long is Unreachable")
	f.StringVar(&cfg.RegistryHost, "registry-host", "", "host:port that clients and nodes use for the built-in registry, served at /v2/ on the API listener (default: the advertised API address)")
	f.StringVar(&cfg.RegistryS3.Bucket, "registry-s3-bucket", "", "store the built-in registry's images in this S3-compatible bucket (default: <data-dir>/registry)")
	f.StringVar(&cfg.RegistryS3.Region, "registry-s3-region", "", "the bucket's region (required on AWS)")
	f.StringVar(&cfg.RegistryS3.Endpoint, "registry-s3-endpoint", "", "https:// URL of an S3-compatible service other than AWS (MinIO, Ceph, ...)")
	f.StringVar(&cfg.RegistryS3.RootDirectory, "registry-s3-root", "", "prefix inside the bucket")
	f.BoolVar(&cfg.RegistryS3.Insecure, "registry-s3-insecure", false, "allow an http:// --registry-s3-endpoint")
	f.StringVar(&cfg.RegistryS3CredentialsFile, "registry-s3-credentials-file", "", "file (mode 0600) with AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines (default: the AWS SDK's chain: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY, an instance role)")
	f.DurationVar(&cfg.RegistryGCQuiet, "registry-gc-quiet", time.Minute, "'wharf image gc' refuses to run within this long of the registry's last write (a push in progress has layers no manifest references yet)")
	f.DurationVar(&cfg.RegistryGCInterval, "registry-gc-interval", 0, "collect the built-in registry's unreferenced layers this often (e.g. 24h); 0: only with 'wharf image gc'")
	f.DurationVar(&cfg.NodeLossGrace, "node-loss-grace", controller.DefaultNodeLossGrace, "a node without heartbeats this long has its containers placed elsewhere (counted from its last heartbeat); its agent stops its own copies "+gateway.FenceMargin.String()+" earlier when it finds itself cut off")
	f.StringVar(&cfg.ACME.Directory, "acme-directory", "", "ACME directory URL where router nodes get certificates for https routes that name none, e.g. https://acme-v02.api.letsencrypt.org/directory (default: none; such routes are not served)")
	f.StringVar(&cfg.ACME.Email, "acme-email", "", "contact address for the ACME account")
	f.StringVar(&acmeCAFile, "acme-ca-file", "", "PEM roots the ACME server's own HTTPS certificate chains to (a private or test ACME server)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&profileDir, "profile-dir", "", "for diagnosis: record a CPU profile and, on each SIGUSR1, write heap-N.pprof (after a garbage collection), goroutine-N.txt and cpu-N.pprof (since the signal before) into this dir, 0700 (default: off)")
	cmd.AddCommand(newServerUnlockCmd(g))
	return cmd
}

// etcdPassword reads the external etcd's password from a file or the
// environment: never from the command line, where any local user can
// read it (/proc/PID/cmdline).
func etcdPassword(file string) (string, error) {
	if file == "" {
		return os.Getenv("WHARF_ETCD_PASSWORD"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--etcd-password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// resolveACME checks the ACME flags and reads --acme-ca-file into c.
func resolveACME(c *api.ACMEConfig, caFile string) error {
	if c.Directory == "" {
		if c.Email != "" || caFile != "" {
			return errors.New("--acme-email and --acme-ca-file need --acme-directory")
		}
		return nil
	}
	u, err := url.Parse(c.Directory)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--acme-directory %q: want the https:// URL of an ACME directory", c.Directory)
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("--acme-ca-file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return fmt.Errorf("--acme-ca-file %s: no PEM certificate in it", caFile)
		}
		c.CA = string(b)
	}
	return nil
}
