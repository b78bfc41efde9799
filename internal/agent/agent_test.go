package agent

import (
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime"
)

func TestGatewayAddr(t *testing.T) {
	srv, _ := url.Parse("https://wharf.example:8443")
	for in, want := range map[string]string{
		"[::]:7444":      "wharf.example:7444",
		"0.0.0.0:7444":   "wharf.example:7444",
		":7444":          "wharf.example:7444",
		"10.0.0.1:7444":  "10.0.0.1:7444",
		"gw.example:900": "gw.example:900",
	} {
		if got := gatewayAddr(in, srv); got != want {
			t.Errorf("gatewayAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMemTotal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(p, []byte("MemFree:  10 kB\nMemTotal:       16318480 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := memTotal(p); got != 16318480*1024 {
		t.Fatalf("memTotal = %d", got)
	}
	if got := memTotal(filepath.Join(t.TempDir(), "none")); got != 0 {
		t.Fatalf("missing file: %d", got)
	}
}

func TestReporter(t *testing.T) {
	r := newReporter(&Agent{})
	r.set("a", api.ContainerStatus{State: api.ContainerStarting})
	r.set("a", api.ContainerStatus{State: api.ContainerRunning, PID: 7})
	r.set("b", api.ContainerStatus{State: api.ContainerTerminated})
	reps, seqs := r.collect(false)
	if len(reps) != 2 || reps[0].ID != "a" || reps[0].Status.PID != 7 || reps[1].ID != "b" {
		t.Fatalf("unsent: %+v", reps)
	}
	// A change while the report is in flight is sent again later.
	r.set("a", api.ContainerStatus{State: api.ContainerStopped})
	r.markSent(seqs)
	reps, _ = r.collect(false)
	if len(reps) != 1 || reps[0].Status.State != api.ContainerStopped {
		t.Fatalf("after ack: %+v", reps)
	}
	// Acknowledged Terminated containers are forgotten; the rest stay for
	// the next hello.
	all, _ := r.snapshot()
	if len(all) != 1 || all[0].ID != "a" {
		t.Fatalf("snapshot: %+v", all)
	}
}

// TestReporterHoldsAShortStarting: a Starting is reported only once it
// has lasted startingHold; a start that ends sooner is reported as its
// outcome alone. A hello's snapshot has everything.
func TestReporterHoldsAShortStarting(t *testing.T) {
	r := newReporter(&Agent{})
	r.set("a", api.ContainerStatus{State: api.ContainerStarting, Run: 1})
	r.set("b", api.ContainerStatus{State: api.ContainerStarting, Run: 1})
	if reps, _ := r.collect(false); len(reps) != 0 {
		t.Fatalf("young Starting reported: %+v", reps)
	}
	if wait := time.Until(r.held); wait <= 0 || wait > startingHold {
		t.Fatalf("held due in %s, want within %s", wait, startingHold)
	}
	if all, _ := r.snapshot(); len(all) != 2 {
		t.Fatalf("snapshot: %+v", all)
	}
	// b's start ends: its Running goes out at once, a's Starting waits.
	r.set("b", api.ContainerStatus{State: api.ContainerRunning, Run: 1})
	reps, seqs := r.collect(false)
	if len(reps) != 1 || reps[0].ID != "b" || reps[0].Status.State != api.ContainerRunning {
		t.Fatalf("after b started: %+v", reps)
	}
	r.markSent(seqs)
	// A pull's progress is no new Starting: the hold still counts from
	// the run's start, and once it has passed, a's Starting goes out.
	r.mu.Lock()
	r.m["a"].starting = time.Now().Add(-startingHold)
	r.mu.Unlock()
	r.set("a", api.ContainerStatus{State: api.ContainerStarting, Run: 1, Pulling: new(40)})
	reps, seqs = r.collect(false)
	if len(reps) != 1 || reps[0].ID != "a" || reps[0].Status.State != api.ContainerStarting {
		t.Fatalf("after the hold: %+v", reps)
	}
	if !r.held.IsZero() {
		t.Fatalf("nothing held, but held is %s", r.held)
	}
	r.markSent(seqs)
	// A new run starts a new hold.
	r.set("a", api.ContainerStatus{State: api.ContainerStarting, Run: 2})
	if reps, _ := r.collect(false); len(reps) != 0 {
		t.Fatalf("a new run's Starting reported at once: %+v", reps)
	}
}

type namedDriver struct {
	runtime.Driver
	name string
}

func (d namedDriver) Name() string { return d.name }

func TestPickDriver(t *testing.T) {
	exec, docker, fake := namedDriver{name: "exec"}, namedDriver{name: "docker"}, namedDriver{name: "fake"}
	pick := func(drivers []runtime.Driver, spec api.ContainerSpec) string {
		e := newExecutor(&Agent{cfg: Config{Drivers: drivers}})
		d, err := e.pick(&ctr{spec: api.Container{Spec: spec}})
		if err != nil {
			return "error"
		}
		return d.Name()
	}
	both := []runtime.Driver{exec, docker}
	for _, tc := range []struct {
		drivers []runtime.Driver
		spec    api.ContainerSpec
		want    string
	}{
		{both, api.ContainerSpec{Command: []string{"x"}}, "exec"},
		{both, api.ContainerSpec{Image: "nginx"}, "docker"},
		{[]runtime.Driver{exec}, api.ContainerSpec{Image: "nginx"}, "error"},
		{[]runtime.Driver{fake}, api.ContainerSpec{Image: "nginx"}, "fake"},
		{[]runtime.Driver{exec, fake}, api.ContainerSpec{Driver: "fake"}, "fake"},
	} {
		if got := pick(tc.drivers, tc.spec); got != tc.want {
			t.Errorf("pick(%v, %+v) = %s, want %s", tc.drivers, tc.spec, got, tc.want)
		}
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	key, csr, err := pki.NewKeyAndCSR("h")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.SignNodeCSR(csr, "n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := loadIdentity(dir); !os.IsNotExist(err) {
		t.Fatalf("empty dir: %v", err)
	}
	if err := saveIdentity(dir, &identity{NodeID: "n1", Gateway: "127.0.0.1:7444"}, key, cert, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, fileKey))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v)", fi.Mode(), err)
	}
	id, err := loadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id.NodeID != "n1" || id.Gateway != "127.0.0.1:7444" || len(id.cert.Certificate) == 0 || id.pool == nil {
		t.Fatalf("identity %+v", id)
	}
	// A stored identity needs no token.
	a, err := New(Config{DataDir: dir, Drivers: []runtime.Driver{namedDriver{name: "fake"}}, Hostname: "h",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil || a.NodeID() != "n1" {
		t.Fatalf("New from stored identity: %v %q", err, a.NodeID())
	}
	if _, err := New(Config{DataDir: t.TempDir(), ServerURL: "https://x", Drivers: []runtime.Driver{namedDriver{name: "fake"}}}); err == nil {
		t.Fatal("New without identity or token succeeded")
	}
}
