package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// fakeAPI is an in-process server of fixed objects: lists answer every
// item, GETs by ID or name answer the one, DELETEs are recorded.
type fakeAPI struct {
	mu         sync.Mutex
	nodes      []api.Node
	services   []api.Service
	containers []api.Container
	tokens     []api.Token
	events     []api.Event
	deleted    []string
	// handle answers a request first when it returns true.
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func (f *fakeAPI) serve(t *testing.T) []string {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.handle != nil && f.handle(w, r) {
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
		list := func(items any) { _ = json.NewEncoder(w).Encode(map[string]any{"items": items}) }
		notFound := func() {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: "not_found", Message: parts[0] + " " + parts[1] + " not found"}})
		}
		find := func(ref string, metas []api.Meta) int {
			for i, m := range metas {
				if m.ID == ref || m.Name == ref {
					return i
				}
			}
			return -1
		}
		if len(parts) == 1 && r.Method == http.MethodGet {
			switch parts[0] {
			case "nodes":
				list(f.nodes)
			case "services":
				list(f.services)
			case "containers":
				var out []api.Container
				for _, c := range f.containers {
					if s := r.URL.Query().Get("service"); s == "" || c.Spec.Service == s {
						out = append(out, c)
					}
				}
				list(out)
			case "tokens":
				list(f.tokens)
			case "events":
				list(f.events)
			default:
				list([]any{})
			}
			return
		}
		if len(parts) == 2 {
			var metas []api.Meta
			var objs []any
			switch parts[0] {
			case "services":
				for _, s := range f.services {
					metas, objs = append(metas, s.Meta), append(objs, s)
				}
			case "containers":
				for _, c := range f.containers {
					metas, objs = append(metas, c.Meta), append(objs, c)
				}
			case "tokens":
				for _, c := range f.tokens {
					metas, objs = append(metas, c.Meta), append(objs, c)
				}
			}
			i := find(parts[1], metas)
			if i < 0 {
				notFound()
				return
			}
			switch r.Method {
			case http.MethodGet:
				_ = json.NewEncoder(w).Encode(objs[i])
			case http.MethodDelete:
				f.deleted = append(f.deleted, parts[0]+"/"+metas[i].ID)
				w.WriteHeader(http.StatusNoContent)
			}
			return
		}
		notFound()
	}))
	t.Cleanup(srv.Close)
	return []string{"--addr", srv.URL, "--token", "t"}
}

// TestZeroTimesOmitted (issue 13, item 8): a container that never started
// has no started_at or finished_at in JSON, and "-" in the table.
func TestZeroTimesOmitted(t *testing.T) {
	f := &fakeAPI{
		containers: []api.Container{{Meta: api.Meta{ID: "c1", Name: "web-1", CreatedAt: time.Now()},
			Spec: api.ContainerSpec{Service: "s1", Slot: 1, Desired: api.ContainerRunning}, Status: api.ContainerStatus{State: api.ContainerStopped, Reason: "exec: \"nope\": not found"}}},
	}
	conn := f.serve(t)
	for _, args := range [][]string{{"container", "ls", "--format", "json"}, {"container", "inspect", "web-1"}} {
		out, _, err := runCLI(t, append(args, conn...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(out, "0001-01-01") || strings.Contains(out, "started_at") || strings.Contains(out, "finished_at") || strings.Contains(out, "updated_at") {
			t.Errorf("%v printed unset times:\n%s", args, out)
		}
		if !strings.Contains(out, `"created_at"`) {
			t.Errorf("%v lost a set time:\n%s", args, out)
		}
	}
	out, _, err := runCLI(t, append([]string{"container", "ls"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(strings.TrimSpace(lines[1]), "-") || !strings.Contains(lines[0], "STARTED") {
		t.Errorf("table:\n%s", out)
	}
}
