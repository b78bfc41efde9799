package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// liveSection is the element of page whose id is id, which must be a
// live part (data-live) for the page's script to swap it in on a change.
func liveSection(t *testing.T, page, id string) string {
	t.Helper()
	open := `<section class="card" id="` + id + `" data-live`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatalf("no live part %q in the page:\n%s", id, page)
	}
	part := page[i:]
	return part[:strings.Index(part, "</section>")]
}

// TestServiceRollout: a service's page shows its rollout as the
// controller records it (generation, containers updated of the total,
// state, start and time taken, the failure that made it roll back) in a
// live part, and each step reaches the page's event stream, so the page
// refreshes it as the rollout goes on.
func TestServiceRollout(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 2)
	b := e.signedIn(e.admin)
	if strings.Contains(b.get("/ui/services/"+svc.ID).body, `id="service-rollout"`) {
		t.Error("a service without a rollout shows one")
	}
	for slot := 1; slot <= 2; slot++ {
		c := &api.Container{Meta: api.Meta{ID: "old" + string(rune('0'+slot)), Name: "web-" + string(rune('0'+slot))},
			Spec:   api.ContainerSpec{Service: svc.ID, Slot: slot, Generation: 1, Desired: api.ContainerRunning, Node: "n1"},
			Status: api.ContainerStatus{State: api.ContainerRunning}}
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
	}
	sc, stop := openStream(t, b)
	defer stop()
	// step writes the service's status as the controller does, with its
	// update event, and returns the rollout part of the refreshed page.
	step := func(what string, fn func(*api.ServiceStatus)) string {
		t.Helper()
		var s api.Service
		if err := e.st.Modify(e.ctx, store.KindServices, svc.ID, &s, func() ([]api.Event, error) {
			fn(&s.Status)
			return []api.Event{{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "update", Message: what}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		for {
			typ, data := next(sc)
			if typ == "" {
				t.Fatalf("%s: the stream ended", what)
			}
			if typ == "change" && strings.Contains(data, `"object":"`+svc.ID+`"`) && strings.Contains(data, what) {
				break
			}
		}
		return liveSection(t, b.do("GET", "/ui/services/"+svc.ID, nil, "X-Wharf-Refresh", "1").body, "service-rollout")
	}
	start := time.Now().UTC().Add(-90 * time.Second).Round(0)
	part := step("update started", func(st *api.ServiceStatus) {
		st.UpdateState, st.UpdateGeneration, st.UpdateStartedAt = api.UpdateStateUpdating, 2, start
	})
	wantIn(t, "updating", part, `data-testid="rollout-state">updating<`, `data-testid="rollout-generation">2<`,
		`data-testid="rollout-updated">0 of 2<`, `<progress max="2" value="0"`, start.Format("2006-01-02 15:04:05 MST"), "running for 1m3")

	c := &api.Container{Meta: api.Meta{ID: "new1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: svc.ID, Slot: 1, Generation: 2, Desired: api.ContainerRunning, Node: "n1"},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	part = step("update: replacing web-2", func(*api.ServiceStatus) {})
	wantIn(t, "one replaced", part, `data-testid="rollout-updated">1 of 2<`, `<progress max="2" value="1"`)

	why := "1 of 2 replacements failed (max failure ratio 0): exit status 3"
	part = step("update failed", func(st *api.ServiceStatus) {
		st.UpdateState, st.UpdateGeneration = api.UpdateStateRollback, 1
		st.UpdateMessage = why + "; rolled back to the previous spec"
	})
	wantIn(t, "rolling back", part, `data-testid="rollout-state">rolling_back<`, `data-testid="rollout-generation">1<`,
		`data-testid="rollout-updated">2 of 2<`, `data-testid="rollout-failure">`+why+`<`)

	part = step("rollback completed", func(st *api.ServiceStatus) {
		st.UpdateState, st.UpdateEndedAt = api.UpdateStateRolledBk, start.Add(75*time.Second)
	})
	wantIn(t, "rolled back", part, `data-testid="rollout-state">rolled_back<`, "took 1m15s", why)
}
