package bench

// The processes BenchmarkRouter measures: nginx serving a small file on
// two ports (the backends), Wharf's router in its own process
// (test/bench/routerd), and HAProxy configured as dockercloud/haproxy
// configures itself; each runs until the benchmark ends.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// routerHost is the virtual host every target is asked for.
const routerHost = "app.example.com"

// routerPage is the small file the backends serve.
var routerPage = strings.Repeat("wharf router benchmark page\n", 36) // 1,008 bytes

// pinned runs name on the CPUs in cpus (taskset's list) when cpus is set.
func pinned(ctx context.Context, cpus, name string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "taskset", append([]string{"-c", cpus, name}, args...)...)
}

// freeLoopbackPort is a port of 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startChild starts cmd until the benchmark ends: then it gets SIGTERM
// (nginx's master stops its workers), and a kill 5 s later if it is still
// there.
func startChild(b *testing.B, cancel context.CancelFunc, cmd *exec.Cmd, out *strings.Builder) {
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		b.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	b.Cleanup(func() { cancel(); _ = cmd.Wait() })
}

// startNginx runs nginx (Debian's) with two server blocks on two free
// ports of 127.0.0.1, both serving routerPage as /, with keep-alive and
// no access log, and returns their addresses and the master's pid.
func startNginx(b *testing.B, dir, cpus string, workers int) ([]string, int) {
	root := filepath.Join(dir, "nginx")
	for _, d := range []string{"www", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "www", "index.html"), []byte(routerPage), 0o644); err != nil {
		b.Fatal(err)
	}
	addrs := []string{
		fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(b)),
		fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(b)),
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers read the benchmark's private temporary directory
	}
	var servers strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&servers, "  server { listen %s; root %s; }\n", a, filepath.Join(root, "www"))
	}
	conf := fmt.Sprintf(`%s
worker_processes %d;
daemon off;
pid %s;
error_log %s warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_temp_path %s;
  default_type text/html;
%s}
`, user, workers, filepath.Join(root, "nginx.pid"), filepath.Join(root, "error.log"), filepath.Join(root, "tmp"), servers.String())
	confPath := filepath.Join(root, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	cmd := pinned(ctx, cpus, "nginx", "-p", root, "-e", filepath.Join(root, "error.log"), "-c", confPath)
	startChild(b, cancel, cmd, &out)
	for _, a := range addrs {
		waitServes(b, "http://"+a+"/", &out)
	}
	return addrs, cmd.Process.Pid
}

// startRouterd builds test/bench/routerd (once) and runs it with one
// HTTP route (routerHost, path /, round robin) over backends, and returns
// its HTTP address and process. profile, when set, is where it writes a
// CPU profile as it exits (SIGTERM at the benchmark's end). extra are more
// routerd flags: -bare for its reference, a bare httputil.ReverseProxy,
// instead of the router; -floor for a byte relay with no HTTP.
func startRouterd(b *testing.B, dir, cpus string, backends []string, profile string, extra ...string) (string, *exec.Cmd) {
	bin := filepath.Join(dir, "routerd")
	if _, err := os.Stat(bin); err != nil {
		if out, err := exec.Command("go", "build", "-o", bin, "./routerd").CombinedOutput(); err != nil {
			b.Fatalf("go build ./routerd: %v\n%s", err, out)
		}
	}
	route := api.HTTPRoute{Service: "svc-web", Name: "web", Host: routerHost, Path: "/"}
	for i, a := range backends {
		route.Backends = append(route.Backends, api.Backend{Container: fmt.Sprintf("web-%d", i+1), Node: "n1", Address: a})
	}
	raw, err := json.Marshal(api.RouteTable{Revision: 1, Router: true, HTTP: []api.HTTPRoute{route}})
	if err != nil {
		b.Fatal(err)
	}
	table := filepath.Join(dir, "table.json")
	if err := os.WriteFile(table, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	args := []string{"-table", table, "-http", "127.0.0.1:0"}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	args = append(args, extra...)
	cmd := pinned(context.Background(), cpus, bin, args...)
	stdin, err := cmd.StdinPipe() // closed when the benchmark's process ends: routerd ends then too
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// SIGTERM, so that routerd writes its profile; a kill if it hangs.
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		stdin.Close()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "http ")
	if err != nil || !ok {
		b.Fatalf("routerd printed %q (%v), not its address; its stderr:\n%s", line, err, errOut.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	waitServes(b, "http://"+addr+"/", &errOut)
	return addr, cmd
}

// startHAProxy runs HAProxy (Debian's 2.6) with the configuration that
// dockercloud/haproxy writes for one service of two containers with a
// VIRTUAL_HOST, in the syntax of HAProxy 2.6, and returns its HTTP/1
// address, its h2c address (the same frontend, "proto h2") and its pid.
//
// dockercloud/haproxy's defaults (haproxy/config.py and its helpers):
// "balance roundrobin", "mode http", "option redispatch, httplog,
// dontlognull, forwardfor", "timeout connect 5000, client 50000, server
// 50000", global "maxconn 4096", each server "check inter 2000 rise 2
// fall 3", and per frontend "reqadd X-Forwarded-Proto: http" (written as
// "http-request add-header" since HAProxy 2.1 dropped reqadd) and host
// ACLs. "option http-server-close" it sets only for ws:// routes, so it is
// not here: HAProxy keeps connections alive on both sides. Left out: its
// syslog target, its stats listener and "daemon"/"user" (the router logs
// nothing either), and httplog, which only shapes those logs. nbthread is
// HAProxy 2.6's default, one thread per CPU it may run on (the image ran
// HAProxy 1.x, one process of one thread).
func startHAProxy(b *testing.B, dir, cpus string, backends []string) (string, string, int) {
	addr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(b))
	h2 := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(b))
	var servers strings.Builder
	for i, a := range backends {
		fmt.Fprintf(&servers, "    server web_%d %s check inter 2000 rise 2 fall 3\n", i+1, a)
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf(`global
    maxconn 4096

defaults
    balance roundrobin
    mode http
    option redispatch
    option dontlognull
    option forwardfor
    timeout connect 5000
    timeout client 50000
    timeout server 50000

frontend port_80
    bind %s
    bind %s proto h2
    http-request add-header X-Forwarded-Proto http
    acl is_websocket hdr(Upgrade) -i WebSocket
    acl host_rule_1 hdr(host) -i %s
    acl host_rule_1_port hdr(host) -i %s:%s
    use_backend SERVICE_web if host_rule_1 or host_rule_1_port

backend SERVICE_web
%s`, addr, h2, routerHost, routerHost, port, servers.String())
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	cmd := pinned(ctx, cpus, "haproxy", "-f", path, "-db")
	startChild(b, cancel, cmd, &out)
	waitServes(b, "http://"+addr+"/", &out)
	return addr, h2, cmd.Process.Pid
}

// waitServes waits up to 10 s for url to answer routerPage for
// routerHost; out is the server's output, shown if it never does.
func waitServes(b *testing.B, url string, out fmt.Stringer) {
	b.Helper()
	c := &http.Client{Timeout: time.Second}
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = routerHost
		resp, err := c.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && string(body) == routerPage {
			return
		}
		last = fmt.Sprintf("status %d, %d bytes (%v)", resp.StatusCode, len(body), err)
	}
	b.Fatalf("%s did not serve the page within 10 s (last: %s); the server's output:\n%s", url, last, out)
}
