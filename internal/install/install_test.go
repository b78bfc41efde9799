package install

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pki"
)

// host is a fresh host under a temporary root, with a fake systemctl that
// records its calls and a sudo that just runs its command, talking to a
// test server that holds a certificate from a real cluster CA.
type host struct {
	t      *testing.T
	dir    string
	root   string
	calls  string
	srv    *httptest.Server
	ca     *pki.CA
	caPEM  []byte
	caFile string
	token  string
}

const fakeBinary = "#!/bin/sh\necho wharf fake binary\n"

// newHost serves Handler for a fake binary; corrupt makes the download
// differ from what the script's checksum says.
func newHost(t *testing.T, corrupt bool) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{t: t, dir: dir, root: filepath.Join(dir, "root"), calls: filepath.Join(dir, "systemctl.calls")}
	ca, err := pki.NewCA("Wharf cluster CA")
	must(t, err)
	h.ca, h.caPEM = ca, ca.CertPEM()
	h.token, _, err = pki.NewJoinToken(ca.Digest())
	must(t, err)
	h.srv = httptest.NewUnstartedServer(h.handler(ca, corrupt))
	h.srv.TLS = serverTLS(t, ca)
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.caFile = filepath.Join(dir, "ca.crt")
	must(t, os.WriteFile(h.caFile, h.caPEM, 0o644))
	fakeBin := filepath.Join(dir, "fakebin")
	must(t, os.MkdirAll(fakeBin, 0o755))
	must(t, os.WriteFile(filepath.Join(fakeBin, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >>"+h.calls+"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(fakeBin, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755))
	must(t, os.MkdirAll(filepath.Join(h.root, "run/systemd/system"), 0o755))
	t.Setenv("PATH", fakeBin+":"+os.Getenv("PATH"))
	return h
}

// handler is Handler for a fake binary at the test server's URL.
func (h *host) handler(ca *pki.CA, corrupt bool) http.Handler {
	bin := filepath.Join(h.dir, "wharf")
	must(h.t, os.WriteFile(bin, []byte(fakeBinary), 0o755))
	var inst http.Handler
	once := sync.OnceFunc(func() {
		inst = Handler(Options{ServerURL: "https://" + h.addr(), CAPEM: ca.CertPEM(), Binary: bin, Arch: "amd64"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corrupt && strings.HasSuffix(r.URL.Path, "/wharf-agent-linux-"+"amd64") {
			_, _ = io.WriteString(w, fakeBinary+"# tampered\n")
			return
		}
		once()
		inst.ServeHTTP(w, r)
	})
}

func (h *host) addr() string { return strings.TrimPrefix(h.srv.URL, "https://") }

// serverTLS is a server certificate from ca for 127.0.0.1, as wharf
// server makes for itself.
func serverTLS(t *testing.T, ca *pki.CA) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	must(t, err)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	must(t, err)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// install fetches the script with the cluster CA and runs it with args.
func (h *host) install(args ...string) (string, error) {
	h.t.Helper()
	script := filepath.Join(h.t.TempDir(), "install.sh")
	out, err := exec.Command("curl", "-q", "-fsS", "--cacert", h.caFile, "--capath", "/dev/null", "-o", script, h.srv.URL+"/install.sh").CombinedOutput()
	if err != nil {
		h.t.Fatalf("curl install.sh: %v: %s", err, out)
	}
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "WHARF_PREFIX="+h.root)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// runLine runs a command line the way a user pastes it, with sh (dash on
// Debian) and the script's paths under root.
func runLine(t *testing.T, root, line string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = append(os.Environ(), "WHARF_PREFIX="+root)
	cmd.WaitDelay = 10 * time.Second
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func (h *host) path(p string) string { return filepath.Join(h.root, p) }

func (h *host) systemctl() string {
	b, _ := os.ReadFile(h.calls)
	return string(b)
}

func skipWithoutCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	if goruntime.GOARCH != "amd64" {
		t.Skip("the script test fakes an amd64 server")
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestInstallUpgradeUninstall(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	out, err := h.install("--token", h.token, "--label", "zone=a", "--label", "ssd=true")
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	b, err := os.ReadFile(h.path("usr/local/bin/wharf-agent"))
	if err != nil || string(b) != fakeBinary || mode(t, h.path("usr/local/bin/wharf-agent")) != 0o755 {
		t.Fatalf("binary: %q %v", b, err)
	}
	conf, _ := os.ReadFile(h.path("etc/wharf/agent.yaml"))
	for _, want := range []string{`server: "` + h.srv.URL + `"`, `token_file: "` + h.path("etc/wharf/join-token") + `"`, `data_dir: "` + h.path("var/lib/wharf") + `"`, `"zone": "a"`, `"ssd": "true"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("agent.yaml lacks %s:\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), h.token) {
		t.Errorf("agent.yaml holds the join token itself:\n%s", conf)
	}
	if tok, err := os.ReadFile(h.path("etc/wharf/join-token")); err != nil || string(tok) != h.token+"\n" {
		t.Errorf("join-token: %q %v", tok, err)
	}
	for p, want := range map[string]os.FileMode{"etc/wharf": 0o700, "etc/wharf/agent.yaml": 0o600, "etc/wharf/join-token": 0o600, "var/lib/wharf": 0o700} {
		if m := mode(t, h.path(p)); m != want {
			t.Errorf("%s mode %o, want %o", p, m, want)
		}
	}
	unit, _ := os.ReadFile(h.path("etc/systemd/system/wharf-agent.service"))
	for _, want := range []string{"Restart=always", "KillMode=process", "ExecStart=" + h.path("usr/local/bin/wharf-agent") + " agent --config " + h.path("etc/wharf/agent.yaml")} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s:\n%s", want, unit)
		}
	}
	if got, want := h.systemctl(), "daemon-reload\nenable --now wharf-agent\n"; got != want {
		t.Errorf("systemctl calls %q, want %q", got, want)
	}

	// Again, without the token: an upgrade keeps the token and restarts.
	if out, err := h.install(); err != nil {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	conf2, _ := os.ReadFile(h.path("etc/wharf/agent.yaml"))
	tok, _ := os.ReadFile(h.path("etc/wharf/join-token"))
	if !strings.Contains(string(conf2), "token_file:") || string(tok) != h.token+"\n" {
		t.Errorf("re-run lost the token: %q\n%s", tok, conf2)
	}
	if got := h.systemctl(); !strings.HasSuffix(got, "daemon-reload\nenable --now wharf-agent\nrestart wharf-agent\n") {
		t.Errorf("upgrade: systemctl calls %q", got)
	}

	must(t, os.WriteFile(h.path("var/lib/wharf/node.json"), []byte("{}"), 0o600))
	if out, err := h.install("--uninstall"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	for _, p := range []string{"usr/local/bin/wharf-agent", "etc/wharf", "etc/systemd/system/wharf-agent.service"} {
		if _, err := os.Stat(h.path(p)); !os.IsNotExist(err) {
			t.Errorf("%s still there after --uninstall", p)
		}
	}
	if _, err := os.Stat(h.path("var/lib/wharf/node.json")); err != nil {
		t.Errorf("--uninstall removed the data dir: %v", err)
	}
	if !strings.Contains(h.systemctl(), "disable --now wharf-agent") {
		t.Errorf("uninstall did not disable the unit: %q", h.systemctl())
	}
	if out, err := h.install("--uninstall", "--purge"); err != nil {
		t.Fatalf("purge: %v\n%s", err, out)
	}
	if _, err := os.Stat(h.path("var/lib/wharf")); !os.IsNotExist(err) {
		t.Errorf("--purge kept the data dir")
	}
}

// An install from before wharf-agent ran the whole wharf binary from
// /usr/local/bin/wharf: a re-run installs wharf-agent, points the unit at
// it, restarts it and removes the old binary, since the old unit ran it.
// A wharf binary the unit does not run (a user's CLI) is left alone.
func TestInstallUpgradesAnInstallOfTheWholeBinary(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	old, unit := h.path("usr/local/bin/wharf"), h.path("etc/systemd/system/wharf-agent.service")
	must(t, os.MkdirAll(filepath.Dir(old), 0o755))
	must(t, os.MkdirAll(filepath.Dir(unit), 0o755))
	must(t, os.WriteFile(old, []byte("old wharf"), 0o755))
	must(t, os.WriteFile(unit, []byte("[Service]\nExecStart="+old+" agent --config "+h.path("etc/wharf/agent.yaml")+"\n"), 0o644))
	if out, err := h.install("--token", h.token); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old install's %s is still there: %v", old, err)
	}
	if b, err := os.ReadFile(h.path("usr/local/bin/wharf-agent")); err != nil || string(b) != fakeBinary {
		t.Errorf("wharf-agent: %q %v", b, err)
	}
	if b, _ := os.ReadFile(unit); !strings.Contains(string(b), "ExecStart="+h.path("usr/local/bin/wharf-agent")+" agent --config ") {
		t.Errorf("unit:\n%s", b)
	}
	if got := h.systemctl(); !strings.HasSuffix(got, "restart wharf-agent\n") {
		t.Errorf("the upgrade did not restart the unit: %q", got)
	}

	// A wharf of the user's own, beside the new install, stays.
	must(t, os.WriteFile(old, []byte("the user's wharf"), 0o755))
	if out, err := h.install(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if out, err := h.install("--uninstall"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "the user's wharf" {
		t.Errorf("the script removed a wharf binary it did not install: %q %v", b, err)
	}
}

func TestInstallRefusesBadChecksum(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, true)
	out, err := h.install("--token", h.token)
	if err == nil || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("install of a tampered binary: err %v, output:\n%s", err, out)
	}
	if _, err := os.Stat(h.path("usr/local/bin/wharf-agent")); !os.IsNotExist(err) {
		t.Error("a tampered binary was installed")
	}
}

func TestInstallRefusesCANotInToken(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	bad := "WHARF-1-" + strings.Repeat("ab", 32) + "-secret"
	out, err := h.install("--token", bad)
	if err == nil || !strings.Contains(out, "not the one the join token pins") {
		t.Fatalf("install with another cluster's token: err %v, output:\n%s", err, out)
	}
}

func TestInstallNoSystemd(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	must(t, os.RemoveAll(h.path("run/systemd")))
	out, err := h.install("--token", h.token)
	if err != nil || !strings.Contains(out, "systemd is not running") || !strings.Contains(out, "agent --config") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	if h.systemctl() != "" {
		t.Errorf("systemctl called without systemd: %q", h.systemctl())
	}
}

func TestDownload(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "wharf")
	must(t, os.WriteFile(bin, []byte(fakeBinary), 0o755))
	srv := httptest.NewServer(Handler(Options{ServerURL: "https://x:7443", CAPEM: []byte("CA"), Binary: bin, Arch: "amd64"}))
	defer srv.Close()
	get := func(p string) (int, string) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sum := sha256.Sum256([]byte(fakeBinary))
	hexSum := hex.EncodeToString(sum[:])
	if code, body := get("/download/wharf-agent-linux-amd64"); code != 200 || body != fakeBinary {
		t.Errorf("binary: %d %q", code, body)
	}
	if code, body := get("/download/wharf-agent-linux-amd64.sha256"); code != 200 || body != hexSum+"  wharf-agent-linux-amd64\n" {
		t.Errorf("sha256: %d %q", code, body)
	}
	if code, body := get("/download/wharf-agent-linux-arm64"); code != 404 || !strings.Contains(body, "only the agent for its own platform") {
		t.Errorf("other arch: %d %q", code, body)
	}
	code, body := get("/install.sh")
	if code != 200 || !strings.Contains(body, "SHA256='"+hexSum+"'") || !strings.Contains(body, "SERVER='https://x:7443'") || strings.Contains(body, "@@") {
		t.Errorf("install.sh: %d\n%s", code, body)
	}
	if out, err := exec.Command("sh", "-n", "-c", body).CombinedOutput(); err != nil {
		t.Errorf("sh -n install.sh: %v %s", err, out)
	}
}

// A host that has joined needs no token: a re-run upgrades, drops the token
// file and token_file, and still refuses a script from another cluster.
func TestInstallJoinedHostKeepsNoToken(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	if out, err := h.install("--token", h.token); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	// What the agent leaves once it has joined.
	must(t, os.WriteFile(h.path("var/lib/wharf/ca.crt"), h.caPEM, 0o644))
	must(t, os.WriteFile(h.path("var/lib/wharf/node.json"), []byte("{}"), 0o600))
	must(t, os.Remove(h.path("etc/wharf/join-token")))
	out, err := h.install()
	if err != nil {
		t.Fatalf("upgrade of a joined host: %v\n%s", err, out)
	}
	if conf, _ := os.ReadFile(h.path("etc/wharf/agent.yaml")); strings.Contains(string(conf), "token") {
		t.Errorf("agent.yaml of a joined host names a token:\n%s", conf)
	}
	if _, err := os.Stat(h.path("etc/wharf/join-token")); !os.IsNotExist(err) {
		t.Errorf("a joined host has a join-token file: %v", err)
	}

	other, err := pki.NewCA("Wharf cluster CA")
	must(t, err)
	must(t, os.WriteFile(h.path("var/lib/wharf/ca.crt"), other.CertPEM(), 0o644))
	for _, args := range [][]string{nil, {"--token", h.token}} {
		out, err = h.install(args...)
		if err == nil || !strings.Contains(out, "not the one this node joined") {
			t.Fatalf("a script from another cluster on a joined host (%q): err %v\n%s", args, err, out)
		}
	}
}

// An install made before the token file kept the token in agent.yaml: a
// re-run moves it to the file.
func TestInstallMovesAnOldConfigsToken(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	must(t, os.MkdirAll(h.path("etc/wharf"), 0o755))
	must(t, os.WriteFile(h.path("etc/wharf/agent.yaml"), []byte("server: \"x\"\ntoken: \""+h.token+"\"\n"), 0o600))
	if out, err := h.install(); err != nil {
		t.Fatalf("re-run over an old config: %v\n%s", err, out)
	}
	conf, _ := os.ReadFile(h.path("etc/wharf/agent.yaml"))
	tok, _ := os.ReadFile(h.path("etc/wharf/join-token"))
	if strings.Contains(string(conf), h.token) || string(tok) != h.token+"\n" {
		t.Errorf("token not moved to the file: %q\n%s", tok, conf)
	}
}

func TestInstallRefusesPlainHTTPServer(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	out, err := h.install("--token", h.token, "--server", "http://"+h.addr())
	if err == nil || !strings.Contains(out, "want https://") {
		t.Fatalf("--server http://: err %v\n%s", err, out)
	}
}
