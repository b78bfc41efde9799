package apiserver

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("web", 2)
	if !svc.Spec.Running || svc.Status.State != api.ServiceNotRunning || len(svc.ID) != 16 || svc.Revision == 0 {
		t.Fatalf("created service: %+v", svc)
	}
	var idx struct{ api.Meta }
	if err := e.st.Get(t.Context(), store.KindNames, "services.web", &idx); err != nil || idx.Name != svc.ID {
		t.Fatalf("name index: %+v %v", idx, err)
	}
	var byName, byID api.Service
	e.call("GET", "/v1/services/web", "", 200, &byName)
	e.call("GET", "/v1/services/"+svc.ID, "", 200, &byID)
	if byName.ID != svc.ID || byID.Name != "web" {
		t.Fatalf("by name %+v, by id %+v", byName, byID)
	}

	var scaled api.Service
	e.call("POST", "/v1/services/web/scale", `{"replicas":5}`, 200, &scaled, "If-Match", fmt.Sprint(svc.Revision))
	if scaled.Spec.Replicas != 5 || scaled.Revision <= svc.Revision {
		t.Fatalf("scaled: %+v", scaled)
	}
	e.call("POST", "/v1/services/"+svc.ID+"/scale", fmt.Sprintf(`{"replicas":1,"revision":%d}`, scaled.Revision), 200, &scaled)
	if scaled.Spec.Replicas != 1 {
		t.Fatalf("scaled: %+v", scaled)
	}

	var stopped, started api.Service
	e.call("POST", "/v1/services/web/stop", "", 200, &stopped)
	if stopped.Spec.Running {
		t.Fatal("still running after stop")
	}
	e.call("POST", "/v1/services/web/start", "", 200, &started)
	if !started.Spec.Running {
		t.Fatal("not running after start")
	}

	var gone api.Service
	e.call("DELETE", "/v1/services/web", "", http.StatusAccepted, &gone)
	if !gone.Terminating || gone.Spec.Running {
		t.Fatalf("after delete: %+v", gone)
	}
	e.call("DELETE", "/v1/services/web", "", http.StatusAccepted, nil) // idempotent
	code, b := e.do("POST", "/v1/services/web/scale", e.admin, `{"replicas":3}`)
	if code != http.StatusConflict {
		t.Fatalf("scale while terminating: %d %s", code, b)
	}

	var evs api.List[api.Event]
	e.call("GET", "/v1/events?limit=1000", "", 200, &evs)
	var msgs []string
	for _, ev := range evs.Items {
		if ev.Kind == "service" {
			msgs = append(msgs, ev.Type+": "+ev.Message)
		}
	}
	want := []string{
		"created: service web created with 2 replicas",
		"updated: service web scaled from 2 to 5 replicas",
		"updated: service web scaled from 5 to 1 replicas",
		"updated: service web stop requested",
		"updated: service web start requested",
		"updated: service web removal requested",
	}
	if fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Fatalf("service events:\n%q\nwant\n%q", msgs, want)
	}
}

func TestServiceNameRace(t *testing.T) {
	e := newEnv(t)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i], _ = e.do("POST", "/v1/services", e.admin, `{"name":"race","spec":{"image":"nginx"}}`)
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates won, want 1: %v", won, codes)
	}
	var l api.List[api.Service]
	e.call("GET", "/v1/services", "", 200, &l)
	if len(l.Items) != 1 {
		t.Fatalf("%d services stored", len(l.Items))
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	const total = 250
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for i := range jobs {
				e.createService(fmt.Sprintf("svc-%d", i), 0)
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		var l api.List[api.Service]
		e.call("GET", "/v1/services?limit=100&cursor="+cursor, "", 200, &l)
		pages++
		for _, s := range l.Items {
			if seen[s.ID] {
				t.Fatalf("service %s twice", s.ID)
			}
			seen[s.ID] = true
		}
		if l.Next == "" {
			if len(l.Items) != 50 {
				t.Fatalf("last page has %d items", len(l.Items))
			}
			break
		}
		if len(l.Items) != 100 || l.Next != l.Items[99].ID {
			t.Fatalf("page %d: %d items, next %q", pages, len(l.Items), l.Next)
		}
		cursor = l.Next
	}
	if pages != 3 || len(seen) != total {
		t.Fatalf("%d pages, %d services", pages, len(seen))
	}
	var def api.List[api.Service]
	e.call("GET", "/v1/services", "", 200, &def)
	if len(def.Items) != 100 || def.Next == "" {
		t.Fatalf("default page: %d items, next %q", len(def.Items), def.Next)
	}
}
