package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
)

// fakeBuildDriver is a driver that builds (a fake of the docker driver's
// BuildImage); it records that it was asked.
type fakeBuildDriver struct {
	runtime.Driver
	asked bool
}

func (f *fakeBuildDriver) Name() string { return "docker" }

func (f *fakeBuildDriver) BuildImage(context.Context, runtime.BuildSpec, io.Reader, io.Writer) (string, error) {
	f.asked = true
	return "sha256:00", nil
}

// TestBuildNeedsAllowBuilds: an agent started without --allow-builds
// refuses a build the server sends anyway, before reading the context,
// and says in its hello that it does not build; with it, it does.
func TestBuildNeedsAllowBuilds(t *testing.T) {
	drv := &fakeBuildDriver{}
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{drv}}, builds: make(chan struct{}, 1)}
	s := &agentSession{a: a}
	body := `{"repository":"default/web","tag":"v1","registry_host":"reg:1"}` + "\ntar"
	w := httptest.NewRecorder()
	s.handleBuild(w, httptest.NewRequest(http.MethodPost, "/agent/v1/builds", strings.NewReader(body)))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "--allow-builds") || drv.asked {
		t.Fatalf("without --allow-builds: %d %s (driver asked: %v)", w.Code, w.Body, drv.asked)
	}
	if h := facts(t.Context(), a); h.AllowBuilds {
		t.Fatal("the hello of an agent without --allow-builds says it builds")
	}
	a.cfg.AllowBuilds = true
	if h := facts(t.Context(), a); !h.AllowBuilds {
		t.Fatal("the hello of an agent with --allow-builds and the docker driver says it does not build")
	}
}
