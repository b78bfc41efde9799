package install

import (
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/pki"
)

func TestCommandIsOnePOSIXLine(t *testing.T) {
	ca, err := pki.NewCA("Wharf cluster CA")
	must(t, err)
	tok, _, err := pki.NewJoinToken(ca.Digest())
	must(t, err)
	line := Command("https://wharf.example.com:7443/", ca.CertPEM(), tok)
	if strings.ContainsAny(line, "\n\r") {
		t.Fatalf("not one line:\n%s", line)
	}
	for _, bad := range []string{" -k", "--insecure", "sfLk", "--no-check-certificate"} {
		if strings.Contains(line, bad) {
			t.Errorf("the one-liner contains %q: %s", bad, line)
		}
	}
	for _, want := range []string{"curl -q ", "--cacert /dev/stdin --capath /dev/null https://wharf.example.com:7443/install.sh |", "| sudo sh -s -- --token " + tok} {
		if !strings.Contains(line, want) {
			t.Errorf("the one-liner lacks %q: %s", want, line)
		}
	}
	for _, sh := range []string{"sh", "dash", "bash"} {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		if out, err := exec.Command(sh, "-n", "-c", line).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v %s", sh, err, out)
		}
	}
	// The printf part alone writes the CA back, in lines any PEM reader takes.
	printf, _, _ := strings.Cut(line, " | curl")
	out, err := exec.Command("sh", "-c", printf).Output()
	must(t, err)
	if block, rest := pem.Decode(out); block == nil || string(pem.EncodeToMemory(block)) != string(ca.CertPEM()) || len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("printf wrote\n%s\nwant\n%s", out, ca.CertPEM())
	}
	if q := shellQuote("https://[::1]:7443/install.sh"); q != "'https://[::1]:7443/install.sh'" {
		t.Errorf("shellQuote: %s", q)
	}
}

// The attack: a server that answers on the address the one-liner names,
// with a certificate of its own and a script that runs anything as root
// and collects the token. The one-liner gets nothing from it, sends it
// nothing and runs nothing; the same line against the real server
// installs.
func TestCommandRefusesAnImpostor(t *testing.T) {
	skipWithoutCurl(t)
	h := newHost(t, false)
	addr := h.addr()
	ca := h.caPEM
	h.srv.Close() // the impostor takes over the real server's address
	marker := filepath.Join(t.TempDir(), "ran-as-root")
	fake, err := hostile.StartInstallServer(addr, marker)
	if err != nil {
		t.Fatalf("impostor on the server's address %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	line := Command("https://"+addr, ca, h.token)

	// The line the docs used to give runs the impostor's script, token and all.
	old := "curl -sfLk https://" + addr + "/install.sh | sudo sh -s -- --token " + h.token
	if out, err := runLine(t, t.TempDir(), old); err != nil {
		t.Fatalf("old one-liner: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(marker); err != nil || !strings.Contains(string(b), h.token) {
		t.Fatalf("the impostor's script did not run with the old one-liner (%q, %v): the test proves nothing", b, err)
	}
	must(t, os.Remove(marker))
	oldRequests := len(fake.Requests())

	out, _ := runLine(t, h.root, line)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the impostor's script ran: %v\n%s", err, out)
	}
	if fake.Hellos() < 2 {
		t.Errorf("the one-liner never reached the impostor (%d handshakes): the test proves nothing", fake.Hellos())
	}
	if reqs := fake.Requests()[oldRequests:]; len(reqs) != 0 {
		t.Errorf("the one-liner sent the impostor requests: %q", reqs)
	}
	if !strings.Contains(out, "curl: (60)") {
		t.Errorf("curl did not refuse the impostor's certificate:\n%s", out)
	}
	if _, err := os.Stat(h.path("etc/wharf")); !os.IsNotExist(err) {
		t.Errorf("something was installed from the impostor: %v", err)
	}
	must(t, fake.Close())

	// The same line against the real server, back on its address.
	real := newServerOn(t, h, addr)
	defer real.Close()
	out, err = runLine(t, h.root, line)
	if err != nil {
		t.Fatalf("one-liner against the real server: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(h.path("usr/local/bin/wharf-agent")); err != nil || string(b) != fakeBinary {
		t.Fatalf("not installed: %q %v\n%s", b, err, out)
	}
	if tok, _ := os.ReadFile(h.path("etc/wharf/join-token")); string(tok) != h.token+"\n" {
		t.Errorf("join-token %q", tok)
	}
}

// newServerOn serves h's cluster on addr again.
func newServerOn(t *testing.T, h *host, addr string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h.handler(h.ca, false))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = serverTLS(t, h.ca)
	srv.StartTLS()
	return srv
}

// The wget path: a host with nothing but busybox, whose wget checks no
// certificate, pointed with --server at a mirror that serves a tampered
// binary and a checksum that matches it. The checksum baked into the script
// is the reference, so the binary is refused and never runs.
func TestInstallBusyboxWgetRefusesTamperedBinary(t *testing.T) {
	skipWithoutCurl(t)
	bb := busyboxOnly(t)
	t.Setenv("GODEBUG", hostile.BusyboxGODEBUG) // busybox's TLS, as an attacker would allow
	h := newHost(t, false)
	marker := filepath.Join(t.TempDir(), "tampered-ran")
	mirror, err := hostile.StartInstallServer("127.0.0.1:0", marker)
	must(t, err)
	t.Cleanup(func() { _ = mirror.Close() })

	script := filepath.Join(t.TempDir(), "install.sh")
	if out, err := exec.Command("curl", "-q", "-fsS", "--cacert", h.caFile, "--capath", "/dev/null", "-o", script, h.srv.URL+"/install.sh").CombinedOutput(); err != nil {
		t.Fatalf("curl install.sh: %v %s", err, out)
	}
	cmd := exec.Command(filepath.Join(bb, "sh"), script, "--token", h.token, "--server", mirror.URL)
	cmd.Env = []string{"PATH=" + bb, "WHARF_PREFIX=" + h.root, "GODEBUG=" + hostile.BusyboxGODEBUG}
	b, err := cmd.CombinedOutput()
	out := string(b)
	if len(mirror.Requests()) == 0 {
		t.Fatalf("busybox wget never reached the mirror: the test proves nothing\n%s", out)
	}
	if err == nil || !strings.Contains(out, "checksum mismatch") {
		t.Errorf("a tampered binary over busybox wget: err %v\n%s", err, out)
	}
	for _, r := range mirror.Requests() {
		if strings.HasSuffix(strings.Fields(r)[1], ".sha256") {
			t.Errorf("the script took a checksum over busybox wget: %s", r)
		}
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the tampered binary ran: %v\n%s", err, out)
	}
	if _, err := os.Stat(h.path("usr/local/bin/wharf-agent")); !os.IsNotExist(err) {
		t.Error("a tampered binary was installed")
	}
}

// busyboxOnly is a directory of busybox applets and nothing else (no curl,
// no openssl, so busybox wget uses its own TLS, which checks nothing), plus
// the fake systemctl.
func busyboxOnly(t *testing.T) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed (apt-get install busybox-static)")
	}
	applets, err := exec.Command(busybox, "--list").Output()
	must(t, err)
	dir := t.TempDir()
	for _, a := range strings.Fields(string(applets)) {
		if a != "curl" && a != "openssl" && a != "ssl_client" {
			must(t, os.Symlink(busybox, filepath.Join(dir, a)))
		}
	}
	return dir
}
