package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/configuration"
)

// Config is what the built-in registry needs.
type Config struct {
	// Dir is where images are stored on the server's disk when S3 is
	// not configured (the server uses <data-dir>/registry).
	Dir string
	// S3, when its Bucket is set, stores images in an S3-compatible
	// bucket instead of Dir.
	S3 S3Config
	// HTTPSecret signs the state of blob uploads between requests. It
	// must be the same across restarts and on every server sharing the
	// store (the server derives it from the cluster's sealed registry
	// key), so that an upload survives a restart or a standby's takeover.
	HTTPSecret string
	// GCQuiet is how long the registry must have seen no write before a
	// garbage collection may run: a push uploads its layers first and
	// its manifest last, and between the two the layers are referenced
	// by nothing (default one minute).
	GCQuiet time.Duration
	// Logger receives distribution's warnings and errors (its info and
	// debug lines are dropped).
	Logger *slog.Logger
}

// S3Config is an S3-compatible bucket for the registry's storage, passed
// to distribution's s3aws driver.
type S3Config struct {
	Bucket string
	// Region is the bucket's region (required unless Endpoint is set).
	Region string
	// Endpoint is the URL of an S3-compatible service other than AWS
	// (MinIO, Ceph, ...); path-style addressing is used with it.
	Endpoint string
	// RootDirectory is a prefix inside the bucket ("" for its root).
	RootDirectory string
	// AccessKey and SecretKey are the credentials; empty means the AWS
	// SDK's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the
	// environment, an instance role).
	AccessKey string
	SecretKey string
	// Insecure allows an http:// Endpoint.
	Insecure bool
}

// ReadS3Credentials reads an S3 credentials file: lines
// AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... (blank lines and
// lines starting with # are skipped). The file must not be readable by
// other users.
func ReadS3Credentials(path string) (accessKey, secretKey string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("registry S3 credentials file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("registry S3 credentials file %s is readable by other users (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("registry S3 credentials file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		switch k = strings.TrimSpace(k); {
		case !ok:
			return "", "", fmt.Errorf("registry S3 credentials file %s, line %d: want NAME=VALUE", path, n)
		case k == "AWS_ACCESS_KEY_ID":
			accessKey = strings.TrimSpace(v)
		case k == "AWS_SECRET_ACCESS_KEY":
			secretKey = strings.TrimSpace(v)
		default:
			return "", "", fmt.Errorf("registry S3 credentials file %s, line %d: unknown name %q (want AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY)", path, n, k)
		}
	}
	if accessKey == "" || secretKey == "" {
		return "", "", fmt.Errorf("registry S3 credentials file %s needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", path)
	}
	return accessKey, secretKey, nil
}

// driver is the storage driver's name and parameters for cfg.
func (cfg Config) driver() (string, map[string]any, error) {
	s := cfg.S3
	if s.Bucket == "" {
		if s.Region != "" || s.Endpoint != "" || s.RootDirectory != "" || s.AccessKey != "" || s.SecretKey != "" {
			return "", nil, errors.New("registry S3 storage needs a bucket (--registry-s3-bucket); the other --registry-s3-* settings mean nothing without one")
		}
		if cfg.Dir == "" {
			return "", nil, errors.New("registry: Config.Dir is required when S3 is not configured")
		}
		dir, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return "", nil, err
		}
		return "filesystem", map[string]any{"rootdirectory": dir}, nil
	}
	if s.Region == "" && s.Endpoint == "" {
		return "", nil, errors.New("registry S3 storage needs a region (--registry-s3-region) or, for a service other than AWS, an endpoint (--registry-s3-endpoint)")
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return "", nil, errors.New("registry S3 credentials go together: give both the access key and the secret key, or neither (the AWS SDK's own chain)")
	}
	if s.Endpoint != "" && !strings.HasPrefix(s.Endpoint, "https://") && !(s.Insecure && strings.HasPrefix(s.Endpoint, "http://")) {
		return "", nil, fmt.Errorf("registry S3 endpoint %q must be an https:// URL (http:// only with --registry-s3-insecure)", s.Endpoint)
	}
	p := map[string]any{
		"bucket": s.Bucket,
		// Blobs are served through the server, never by a redirect to
		// the bucket, which nodes may not reach.
		"secure": !strings.HasPrefix(s.Endpoint, "http://"),
	}
	if s.Region != "" {
		p["region"] = s.Region
	} else {
		p["region"] = "us-east-1" // signing needs one; S3-compatible services ignore it
	}
	if s.Endpoint != "" {
		p["regionendpoint"] = s.Endpoint
		p["forcepathstyle"] = true
	}
	if s.RootDirectory != "" {
		p["rootdirectory"] = "/" + strings.Trim(s.RootDirectory, "/")
	}
	if s.AccessKey != "" {
		p["accesskey"], p["secretkey"] = s.AccessKey, s.SecretKey
	}
	return "s3aws", p, nil
}

// distConfig is distribution's configuration for the driver: no auth (Wharf's is
// in front), deletes on (only registry admins reach DELETE), no redirects,
// no cache (so that what the domain layer deletes is gone for the
// handler at once), no debug server, no metrics or tracing of its own.
func (cfg Config) distConfig(name string, params map[string]any) *configuration.Configuration {
	c := &configuration.Configuration{}
	c.Version = configuration.MajorMinorVersion(0, 1)
	c.Storage = configuration.Storage{
		name:       configuration.Parameters(params),
		"delete":   configuration.Parameters{"enabled": true},
		"redirect": configuration.Parameters{"disable": true},
	}
	c.HTTP.Secret = cfg.HTTPSecret
	c.Log.Level = "error"
	return c
}
