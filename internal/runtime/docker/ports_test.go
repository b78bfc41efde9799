package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestPortConfig: each port form becomes the engine's exposed port and
// binding; host and none publish nothing and join no network.
func TestPortConfig(t *testing.T) {
	s := runtime.Spec{ID: "c1", Image: "img", PublishAll: true,
		Ports: []api.PortSpec{
			{ContainerPort: 80, HostPort: 8080},
			{ContainerPort: 80, HostIP: "127.0.0.1"},
			{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "::1"},
		},
		Expose: []api.PortSpec{{ContainerPort: 9000}, {ContainerPort: 9001, Protocol: "udp"}},
	}
	cfg, host, err := containerConfig(s, "n1")
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(n uint16) network.Port { p, _ := network.PortFrom(n, network.TCP); return p }
	udp := func(n uint16) network.Port { p, _ := network.PortFrom(n, network.UDP); return p }
	for _, p := range []network.Port{tcp(80), udp(53), tcp(9000), udp(9001)} {
		if _, ok := cfg.ExposedPorts[p]; !ok {
			t.Errorf("%s is not exposed: %v", p, cfg.ExposedPorts)
		}
	}
	want := network.PortMap{
		tcp(80): {{HostIP: netip.IPv4Unspecified(), HostPort: "8080"}, {HostIP: netip.MustParseAddr("127.0.0.1")}},
		udp(53): {{HostIP: netip.MustParseAddr("::1"), HostPort: "5353"}},
	}
	if len(host.PortBindings) != len(want) || !slices.Equal(host.PortBindings[tcp(80)], want[tcp(80)]) || !slices.Equal(host.PortBindings[udp(53)], want[udp(53)]) {
		t.Errorf("bindings %v, want %v", host.PortBindings, want)
	}
	if !host.PublishAllPorts || host.NetworkMode != "" {
		t.Errorf("PublishAllPorts %v, NetworkMode %q; want -P on the default bridge", host.PublishAllPorts, host.NetworkMode)
	}
	for _, mode := range []string{"host", "none"} {
		_, host, err := containerConfig(runtime.Spec{ID: "c1", Image: "img", NetworkMode: mode}, "n1")
		if err != nil || string(host.NetworkMode) != mode || len(host.PortBindings) != 0 {
			t.Errorf("network mode %s: %v, %+v", mode, err, host)
		}
	}

	bad := map[string]runtime.Spec{
		"host with ports":  {ID: "c1", NetworkMode: "host", Ports: []api.PortSpec{{ContainerPort: 80}}},
		"none with -P":     {ID: "c1", NetworkMode: "none", PublishAll: true},
		"host on networks": {ID: "c1", NetworkMode: "host", Networks: []runtime.Attachment{{Network: "web"}}},
		"unknown mode":     {ID: "c1", NetworkMode: "container:x"},
	}
	for name, s := range bad {
		if err := checkNetworkMode(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, p := range map[string]api.PortSpec{
		"ingress":      {ContainerPort: 80, HostPort: 80, Mode: api.PortModeIngress},
		"bad address":  {ContainerPort: 80, HostIP: "example.com"},
		"bad protocol": {ContainerPort: 80, Protocol: "sctp"},
		"port 0":       {},
	} {
		if _, _, err := portConfig(runtime.Spec{ID: "c1", Ports: []api.PortSpec{p}}); err == nil {
			t.Errorf("%s: port %+v accepted", name, p)
		}
	}
}

// TestStatusReportsHostIP: every binding is reported with its address.
func TestStatusReportsHostIP(t *testing.T) {
	in := container.InspectResponse{
		ID: "x", State: &container.State{Running: true, Pid: 1},
		Config: &container.Config{Env: []string{"PORT=80"}},
		NetworkSettings: &container.NetworkSettings{Ports: network.PortMap{
			network.MustParsePort("80/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}, {HostIP: netip.MustParseAddr("::1"), HostPort: "8080"}},
			network.MustParsePort("53/udp"): {{HostIP: netip.IPv4Unspecified(), HostPort: "5353"}},
		}},
	}
	st := status(in)
	want := []api.PortBinding{
		{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "0.0.0.0"},
		{ContainerPort: 80, HostPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"},
		{ContainerPort: 80, HostPort: 8080, Protocol: "tcp", HostIP: "::1"},
	}
	if !slices.Equal(st.Ports, want) || st.HostPort != 8080 {
		t.Errorf("status ports %+v host port %d, want %+v and 8080", st.Ports, st.HostPort, want)
	}
}

// TestSpecHashWithoutNetworkMode: the new fields, when unset, leave the
// spec hash as it was (TestSpecHashUnchanged has the old hashes).
func TestSpecHashWithoutNetworkMode(t *testing.T) {
	s := runtime.Spec{ID: "c2", Name: "db-2", Service: "db", Slot: 2, Node: "n1", Image: "img",
		Ports:  []api.PortSpec{{ContainerPort: 5432}},
		Mounts: []api.VolumeMount{{Type: api.VolumeNamed, Source: "db-2-data", Target: "/data"}}}
	if got := specHash(s); got != "9bc2240de2877585f728d76d" {
		t.Fatalf("specHash = %s, want the old hash", got)
	}
	for _, edit := range []func(*runtime.Spec){
		func(s *runtime.Spec) { s.NetworkMode = "host" },
		func(s *runtime.Spec) { s.PublishAll = true },
		func(s *runtime.Spec) { s.Expose = []api.PortSpec{{ContainerPort: 1}} },
		func(s *runtime.Spec) { s.Ports = []api.PortSpec{{ContainerPort: 5432, HostIP: "127.0.0.1"}} },
	} {
		c := s
		edit(&c)
		if specHash(c) == specHash(s) {
			t.Errorf("spec %+v hashes as the old one", c)
		}
	}
}

// The engine tests: one per network mode and port form.

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPorts starts a serve workload (on container port 8080) with the
// spec edited by edit, and returns its status. Its ID is runID(t).
func startPorts(t *testing.T, image string, edit func(*runtime.Spec)) (*Driver, runtime.Status) {
	t.Helper()
	d := newDriver(t, "ports-"+t.Name())
	s := spec(image, runID(t))
	edit(&s)
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return d, st
}

// getHello GETs url until the hello workload answers (at most 10 s, 200
// tries): docker-proxy accepts connections before the workload listens.
func getHello(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	for i, end := 0, time.Now().Add(10*time.Second); i < 200 && time.Now().Before(end); i++ {
		resp, err := c.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = rerr
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: no answer: %v", url, last)
	return ""
}

// hostURL is the URL of a binding on the test's loopback.
func hostURL(b api.PortBinding) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.HostPort)) + "/"
}

func TestPublishFixedPort(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	hp := freePort(t)
	_, st := startPorts(t, image, func(s *runtime.Spec) { s.Ports[0].HostPort = hp })
	want := []api.PortBinding{{ContainerPort: 8080, HostPort: hp, Protocol: "tcp", HostIP: "0.0.0.0"}}
	if !slices.Equal(st.Ports, want) || st.HostPort != hp {
		t.Fatalf("status ports %+v, host port %d; want %+v", st.Ports, st.HostPort, want)
	}
	getHello(t, hostURL(st.Ports[0]))
}

func TestPublishRandomPort(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	_, st := startPorts(t, image, func(*runtime.Spec) {})
	if len(st.Ports) != 1 || st.Ports[0].HostPort == 0 || st.Ports[0].HostIP != "0.0.0.0" {
		t.Fatalf("status ports %+v, want one binding on a free port of 0.0.0.0", st.Ports)
	}
	getHello(t, hostURL(st.Ports[0]))
}

func TestPublishOnHostIP(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d, st := startPorts(t, image, func(s *runtime.Spec) { s.Ports[0].HostIP = "127.0.0.1" })
	if len(st.Ports) != 1 || st.Ports[0].HostIP != "127.0.0.1" || st.Ports[0].HostPort == 0 {
		t.Fatalf("status ports %+v, want one binding on 127.0.0.1", st.Ports)
	}
	getHello(t, hostURL(st.Ports[0]))
	in := inspectRun(t, d, runID(t))
	if bs := in.HostConfig.PortBindings[network.MustParsePort("8080/tcp")]; len(bs) != 1 || bs[0].HostIP.String() != "127.0.0.1" {
		t.Errorf("the engine binds %+v, want 127.0.0.1 only", bs)
	}
}

func TestPublishRange(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	// Three free host ports in a row: retry a few starting points.
	var ports []api.PortSpec
	for range 20 {
		hp := freePort(t)
		ok := true
		for i := 1; i < 3 && ok; i++ {
			ln, err := net.Listen("tcp", "0.0.0.0:"+strconv.Itoa(hp+i))
			ok = err == nil
			if ok {
				ln.Close()
			}
		}
		if ok && hp+2 <= 65535 {
			ps, err := api.ParsePublish(strconv.Itoa(hp) + "-" + strconv.Itoa(hp+2) + ":8080-8082")
			if err != nil {
				t.Fatal(err)
			}
			ports = ps
			break
		}
	}
	if ports == nil {
		t.Skip("found no three free ports in a row")
	}
	_, st := startPorts(t, image, func(s *runtime.Spec) { s.Ports = ports })
	if len(st.Ports) != 3 {
		t.Fatalf("status ports %+v, want 3", st.Ports)
	}
	for i, b := range st.Ports {
		if b.ContainerPort != 8080+i || b.HostPort != ports[i].HostPort || b.Protocol != "tcp" {
			t.Errorf("binding %d is %+v, want %d -> %d/tcp", i, b, ports[i].HostPort, 8080+i)
		}
	}
	getHello(t, hostURL(st.Ports[0])) // hello listens on $PORT, the first
}

func TestPublishUDP(t *testing.T) {
	t.Parallel()
	image := probeImage(t)
	_, st := startPorts(t, image, func(s *runtime.Spec) {
		s.Command = []string{"udp-echo", ":5353"}
		s.Ports = []api.PortSpec{{ContainerPort: 5353, Protocol: "udp"}}
	})
	if len(st.Ports) != 1 || st.Ports[0].Protocol != "udp" || st.Ports[0].HostPort == 0 {
		t.Fatalf("status ports %+v, want one udp binding", st.Ports)
	}
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.Ports[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 64)
	// Datagrams sent before the echo listens are lost: resend, 50 times at
	// most.
	for range 50 {
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil {
			if got := string(buf[:n]); got != "ping" {
				t.Fatalf("echo answered %q, want ping", got)
			}
			return
		}
	}
	t.Fatal("the udp echo never answered through the published port")
}

func TestExposeAndPublishAll(t *testing.T) {
	t.Parallel()
	hello := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	image := "wharf/hello-expose:test"
	dockertest.BuildFiles(t, cli, image, map[string][]byte{"Dockerfile": []byte("FROM " + hello + "\nEXPOSE 8080\n")})
	_, st := startPorts(t, image, func(s *runtime.Spec) {
		s.Ports = nil
		s.Expose = []api.PortSpec{{ContainerPort: 9000, Protocol: "udp"}}
		s.PublishAll = true
	})
	if len(st.Ports) < 2 {
		t.Fatalf("status ports %+v, want the image's 8080/tcp and the spec's 9000/udp", st.Ports)
	}
	var web api.PortBinding
	seen := map[string]bool{}
	for _, b := range st.Ports {
		seen[strconv.Itoa(b.ContainerPort)+"/"+b.Protocol] = true
		if b.ContainerPort == 8080 && b.HostPort != 0 && (web.HostPort == 0 || b.HostIP == "0.0.0.0") {
			web = b
		}
	}
	if !seen["8080/tcp"] || !seen["9000/udp"] || len(seen) != 2 {
		t.Fatalf("published %v, want 8080/tcp (the image's EXPOSE) and 9000/udp (spec.Expose)", seen)
	}
	getHello(t, hostURL(web)) // hello listens on :8080 without $PORT
}

func TestNetworkModeHost(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	hp := freePort(t)
	_, st := startPorts(t, image, func(s *runtime.Spec) {
		s.NetworkMode = "host"
		s.Ports = nil
		s.Command = append(slices.Clone(serveCmd), "--addr", "127.0.0.1:"+strconv.Itoa(hp))
	})
	if len(st.Ports) != 0 || st.HostPort != 0 {
		t.Fatalf("status ports %+v, host port %d; want none in host mode", st.Ports, st.HostPort)
	}
	getHello(t, "http://127.0.0.1:"+strconv.Itoa(hp)+"/")
}

func TestNetworkModeNone(t *testing.T) {
	t.Parallel()
	image := probeImage(t)
	d, _ := startPorts(t, image, func(s *runtime.Spec) {
		s.NetworkMode = "none"
		s.Ports = nil
		s.Command = []string{"interfaces"}
	})
	st, err := d.Wait(ctx20(t), runID(t))
	if err != nil || st.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v; want exit 0", st, err)
	}
	if out := logsOf(t, d, runID(t)); !strings.Contains(out, "interfaces: lo\n") {
		t.Fatalf("logs %q, want the loopback interface only", out)
	}
}

// runID is the ID of the test's container: tests run in parallel on one
// engine, where container names (which take the ID's first characters)
// must differ.
func runID(t *testing.T) string {
	sum := sha256.Sum256([]byte(t.Name()))
	return hex.EncodeToString(sum[:6])
}

// inspectRun is the engine's view of the container of id.
func inspectRun(t *testing.T, d *Driver, id string) container.InspectResponse {
	t.Helper()
	list, err := d.findAll(ctx20(t), id)
	if err != nil || len(list) != 1 {
		t.Fatalf("find %s: %d containers, %v", id, len(list), err)
	}
	return list[0]
}

var (
	probeOnce sync.Once
	probeErr  error
)

// probeTag is the image of testdata/portprobe.
const probeTag = "wharf/portprobe:test"

// probeImage builds probeTag once per process: the static portprobe
// binary FROM scratch, as its ENTRYPOINT.
func probeImage(t *testing.T) string {
	t.Helper()
	cli := dockertest.Require(t)
	probeOnce.Do(func() { probeErr = buildProbe(cli) })
	if probeErr != nil {
		t.Fatalf("build %s: %v", probeTag, probeErr)
	}
	return probeTag
}

func buildProbe(cli *client.Client) error {
	dir, err := os.MkdirTemp("", "wharf-portprobe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "portprobe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/portprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build portprobe: %w\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY portprobe /portprobe\nENTRYPOINT [\"/portprobe\"]\n")},
		{"portprobe", 0o755, exe},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{probeTag}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	// A failed build still answers 200: its error is in the stream.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
