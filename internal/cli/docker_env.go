package cli

// docker_env.go is `wharf docker-env`: a Docker client certificate from
// the cluster, and the environment that points the docker CLI at the
// cluster's Docker endpoint, as `docker-machine env` prints it.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/pki"
)

// dockerEnvOptions are `wharf docker-env`'s flags.
type dockerEnvOptions struct {
	name, role, ttl      string
	certPath, dockerHost string
	shell                string
	renew                bool
}

func newDockerEnvCmd(g *globals) *cobra.Command {
	var o dockerEnvOptions
	cmd := &cobra.Command{
		Use:   "docker-env",
		Short: "Point the docker CLI at the cluster: print DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH",
		Long: `Point the docker CLI (and docker-compose) at the whole cluster, as
'docker-machine env' did for one host:

  eval "$(wharf docker-env)"
  docker info

The first run makes a key on this machine, has the server sign a Docker client
certificate for it (an API token of kind docker-cert: 'wharf token ls' lists it,
'wharf token rm' revokes it at once) and writes ca.pem, cert.pem and key.pem
(0600, in a 0700 directory) under the CLI's config directory, one directory per
server and organization; later runs reuse that certificate while it has more
than a day left and its token exists (--new makes another, and revokes the one
it replaces). The private key never leaves this machine.
The certificate acts as you (your own access by default, like the token you run
this with; --role narrows it) in the current organization. The server says where
its Docker endpoint is ('wharf server --docker-addr'); --docker-host overrides it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDockerEnv(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), g, cmd.Flags().Changed, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "the certificate's token name (default docker-env-<hostname>-<time>)")
	f.StringVar(&o.role, "role", "", "narrow the certificate to a role: "+strings.Join(api.Roles, ", ")+" (default: your own access)")
	f.StringVar(&o.ttl, "ttl", "", "how long the certificate lasts, such as 720h (default 720h)")
	f.StringVar(&o.certPath, "cert-path", "", "write the certificate files here (default: a directory per server under the CLI's config directory)")
	f.StringVar(&o.dockerHost, "docker-host", "", "the Docker endpoint's host:port (default: the one the server advertises)")
	f.StringVar(&o.shell, "shell", "sh", "print for this shell: sh (bash, zsh), fish or powershell")
	f.BoolVar(&o.renew, "new", false, "issue a new certificate even when the one on disk is still good")
	return cmd
}

// dockerEnvHostFile is what the certificate directory holds besides the
// three PEM files: the endpoint's address, so that a reused certificate
// needs no new request.
const dockerEnvHostFile = "docker-host"

func runDockerEnv(ctx context.Context, out, errOut io.Writer, g *globals, changed func(string) bool, o dockerEnvOptions) error {
	if !validShell(o.shell) {
		return fmt.Errorf("--shell %q: want sh, bash, zsh, fish or powershell", o.shell)
	}
	if o.role != "" && !slices.Contains(api.Roles, o.role) {
		return fmt.Errorf("--role %q: want one of %s", o.role, strings.Join(api.Roles, ", "))
	}
	if o.dockerHost != "" {
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(o.dockerHost, "tcp://")); err != nil {
			return fmt.Errorf("--docker-host %q: want host:port, such as wharf.example.com:2376", o.dockerHost)
		}
		o.dockerHost = strings.TrimPrefix(o.dockerHost, "tcp://")
	}
	opts, err := g.resolve()
	if err != nil {
		return err
	}
	dir := o.certPath
	if dir == "" {
		if dir, err = dockerCertDir(opts); err != nil {
			return err
		}
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	host := ""
	reuse := !o.renew && !changed("name") && !changed("role") && !changed("ttl")
	if reuse {
		host = reusableCert(ctx, c, dir)
	}
	if host == "" {
		old := certTokenID(dir)
		if host, err = issueDockerCert(ctx, c, dir, o); err != nil {
			return err
		}
		say(errOut, "wrote a Docker client certificate to %s\n", dir)
		if old != "" && c.RemoveToken(ctx, old) == nil {
			// The certificate it replaced (expiring, or --new) is revoked,
			// so that tokens do not pile up.
			say(errOut, "revoked the certificate it replaces (token %s)\n", old)
		}
	}
	if o.dockerHost != "" {
		host = o.dockerHost
	}
	if host == "" {
		return fmt.Errorf("the server did not say where its Docker endpoint is (an older server?): pass --docker-host HOST:PORT")
	}
	printDockerEnv(out, o.shell, pki.DockerEnv(host, dir))
	return nil
}

// issueDockerCert makes a key and a CSR here, has the server sign it and
// writes the directory; it returns the endpoint the server advertises.
func issueDockerCert(ctx context.Context, c *client.Client, dir string, o dockerEnvOptions) (string, error) {
	name := o.name
	if name == "" {
		hn, _ := os.Hostname()
		if len(hn) > 30 {
			hn = hn[:30] // a token name has at most 63 characters
		}
		name = tokenSafe("docker-env-" + hn + "-" + time.Now().UTC().Format("20060102-150405"))
	}
	role := o.role
	if role == "" {
		// A user's certificate has the user's access without a role; a
		// token of no user would get read-only, so ask for its own.
		if me, err := c.Me(ctx); err == nil && me.User == "" {
			role = me.Role
		}
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(name)
	if err != nil {
		return "", err
	}
	created, err := c.CreateTokenWith(ctx, api.CreateTokenRequest{Name: name, Role: role, TTL: o.ttl, CSR: string(csrPEM)})
	if err != nil {
		return "", fmt.Errorf("issue a Docker client certificate: %w", err)
	}
	if created.Certificate == "" || created.CA == "" {
		return "", fmt.Errorf("the server answered without a certificate: is it older than `wharf docker-env`?")
	}
	if err := pki.WriteDockerCertDir(dir, []byte(created.CA), []byte(created.Certificate), keyPEM); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, dockerEnvHostFile), []byte(created.DockerHost+"\n"), 0o600); err != nil {
		return "", err
	}
	return created.DockerHost, nil
}

// reusableCert is the endpoint of the certificate in dir when it can be
// used on: it has more than a day left and its token still exists (it
// was not revoked); "" otherwise.
func reusableCert(ctx context.Context, c *client.Client, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return ""
	}
	host, err := os.ReadFile(filepath.Join(dir, dockerEnvHostFile))
	if err != nil || strings.TrimSpace(string(host)) == "" {
		return ""
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return ""
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || time.Until(cert.NotAfter) < 24*time.Hour {
		return ""
	}
	h := strings.TrimSpace(string(host))
	if !endpointTakes(ctx, dir, h) {
		return ""
	}
	toks, err := c.Tokens(ctx)
	if err != nil {
		return ""
	}
	for _, t := range toks {
		if t.ID == cert.Subject.CommonName && t.Kind == api.TokenDockerCert {
			return h
		}
	}
	return ""
}

// certTokenID is the token ID (common name) of the certificate in dir, ""
// when there is none.
func certTokenID(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return ""
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return ""
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !pki.IsDockerClient(cert) {
		return ""
	}
	return cert.Subject.CommonName
}

// endpointTakes is whether the Docker endpoint at host still answers a
// TLS handshake with the certificate in dir: it moved (`wharf up` picks a
// free port) or is another cluster's now when it does not.
func endpointTakes(ctx context.Context, dir, host string) bool {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return false
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return false
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return false
	}
	name, _, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// dockerCertDir is the default certificate directory: one per server and
// organization under the CLI's config directory.
func dockerCertDir(o client.Options) (string, error) {
	p, err := ConfigPath()
	if err != nil {
		return "", err
	}
	server := o.Addr
	if u, err := url.Parse(o.Addr); err == nil && u.Host != "" {
		server = u.Host
	}
	name := tokenSafe(strings.ReplaceAll(server, ":", "_"))
	if name == "" {
		return "", fmt.Errorf("no server address: run `wharf login`, pass --addr or set WHARF_ADDR")
	}
	if o.Org != "" {
		name += "@" + tokenSafe(o.Org)
	}
	return filepath.Join(filepath.Dir(p), "docker", name), nil
}

// tokenSafe keeps what a token name or a file name may hold (letters,
// digits, '.', '_', '-'), replacing the rest with '-'.
func tokenSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
}

func validShell(s string) bool {
	switch s {
	case "sh", "bash", "zsh", "fish", "powershell":
		return true
	}
	return false
}

// printDockerEnv prints env (KEY=value) as shell's assignments, and how
// to apply them.
func printDockerEnv(out io.Writer, shell string, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch shell {
		case "fish":
			say(out, "set -gx %s %s;\n", k, fishQuote(v))
		case "powershell":
			say(out, "$Env:%s = %s\n", k, "'"+strings.ReplaceAll(v, "'", "''")+"'")
		default:
			say(out, "export %s=%s\n", k, shellQuote(v))
		}
	}
	switch shell {
	case "fish":
		say(out, "# Run this command to configure your shell:\n# eval (wharf docker-env --shell fish)\n")
	case "powershell":
		say(out, "# Run this command to configure your shell:\n# & wharf docker-env --shell powershell | Invoke-Expression\n")
	default:
		say(out, "# Run this command to configure your shell:\n# eval \"$(wharf docker-env)\"\n")
	}
}

// fishQuote quotes s for fish, whose single quotes escape only \ and '.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
