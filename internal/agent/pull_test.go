package agent

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// fakePullingDriver is the fake driver with a pretend pull in Start: it
// reports progress 0, 5, ..., 100, one step every 100ms, through
// spec.PullProgress, as the docker driver does while the engine pulls.
type fakePullingDriver struct{ *fake.Driver }

func (d fakePullingDriver) Start(ctx context.Context, spec runtime.Spec) (runtime.Status, error) {
	for p := 0; p <= 100; p += 5 {
		if spec.PullProgress != nil {
			spec.PullProgress(p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d.Driver.Start(ctx, spec)
}

// TestPullProgressAndCredentials: the agent hands the driver the
// credential of the image's registry (Docker Hub's names being one), and
// reports the pull's progress as Starting with Pulling set, at most about
// once a second, then Running without it.
func TestPullProgressAndCredentials(t *testing.T) {
	drv := fakePullingDriver{fake.New()}
	binds, err := newBindPolicy("h", nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{drv}}, log: slog.New(slog.DiscardHandler), binds: binds}
	a.rep = newReporter(a)
	a.exec = newExecutor(a)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go a.exec.run(ctx)

	hub := api.RegistryAuth{Username: "hubuser", Password: "hub-pw"}
	a.exec.setAssignments(&api.Assignments{
		Containers: []api.Container{
			{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s", Slot: 1, Image: "library/nginx:1.27", Desired: api.ContainerRunning}},
			{Meta: api.Meta{ID: "c2", Name: "api-1"}, Spec: api.ContainerSpec{Service: "t", Slot: 1, Image: "reg.example:5000/api:1", PullPolicy: api.PullAlways, Desired: api.ContainerRunning}},
		},
		RegistryAuths: map[string]api.RegistryAuth{"index.docker.io": hub},
	})

	var pulling []int
	deadline := time.Now().Add(15 * time.Second)
	for {
		reps, seqs := a.rep.collect(false)
		a.rep.markSent(seqs)
		for _, r := range reps {
			if r.ID == "c1" && r.Status.Pulling != nil {
				if r.Status.State != api.ContainerStarting {
					t.Fatalf("progress reported in state %s", r.Status.State)
				}
				pulling = append(pulling, *r.Status.Pulling)
			}
			if r.Status.State == api.ContainerRunning {
				if r.Status.Pulling != nil {
					t.Errorf("%s: Running with Pulling set", r.ID)
				}
			}
		}
		if a.exec.running() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containers did not run; progress seen %v", pulling)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ~2.1s of pulling: at most one report a second, and the end.
	if len(pulling) < 2 || len(pulling) > 4 || pulling[len(pulling)-1] != 100 {
		t.Errorf("progress reports %v: want 2 to 4 of them, the last 100", pulling)
	}
	s1, _ := drv.LastSpec("c1")
	s2, _ := drv.LastSpec("c2")
	if s1.RegistryAuth == nil || *s1.RegistryAuth != hub || s1.PullPolicy != "" {
		t.Errorf("c1 (Docker Hub) got auth %v policy %q", s1.RegistryAuth, s1.PullPolicy)
	}
	if s2.RegistryAuth != nil || s2.PullPolicy != api.PullAlways {
		t.Errorf("c2 got auth %v policy %q", s2.RegistryAuth, s2.PullPolicy)
	}
}

// running counts the containers that run.
func (e *executor) running() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, k := range e.ctrs {
		if k.running {
			n++
		}
	}
	return n
}
