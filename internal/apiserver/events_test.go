package apiserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

func TestEventsList(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.createService(fmt.Sprintf("s%d", i), 1)
	}
	var all api.List[api.Event]
	e.call("GET", "/v1/events", "", 200, &all)
	if len(all.Items) != 6 || all.Next != "" { // the bootstrap token's and five services'
		t.Fatalf("%d events, next %q", len(all.Items), all.Next)
	}
	var page api.List[api.Event]
	e.call("GET", "/v1/events?limit=2&since="+all.Items[1].Cursor(), "", 200, &page)
	if len(page.Items) != 2 || page.Items[0] != all.Items[2] || page.Next != all.Items[3].Cursor() {
		t.Fatalf("page after %s: %+v", all.Items[1].Cursor(), page)
	}
}

// TestEventsStreamResume reads part of the stream, disconnects, resumes
// with Last-Event-ID in the middle of a multi-event transaction, and must
// get exactly the rest, then live events.
func TestEventsStreamResume(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.heartbeat = 30 * time.Millisecond })
	e.createService("a", 1)
	// Three events in one transaction: one revision, seq 0..2.
	tx := e.st.Txn()
	tx.Emit(api.Event{Kind: "node", Object: "n1", Type: "state", State: "Deployed"},
		api.Event{Kind: "node", Object: "n2", Type: "state", State: "Deployed"},
		api.Event{Kind: "node", Object: "n3", Type: "state", State: "Deployed"})
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.createService("b", 1)
	var stored api.List[api.Event]
	e.call("GET", "/v1/events", "", 200, &stored)
	if len(stored.Items) != 6 {
		t.Fatalf("%d stored events", len(stored.Items))
	}

	// Read the first three (bootstrap token, a, n1), then hang up.
	ctx1, cancel1 := context.WithCancel(t.Context())
	ch1, comments := e.openSSE(ctx1, "/v1/events?stream=1")
	var last string
	for i := range 3 {
		f, ev := nextFrame(t, ch1)
		if ev != stored.Items[i] || f.id != ev.Cursor() {
			t.Fatalf("frame %d: id %s %+v, want %+v", i, f.id, ev, stored.Items[i])
		}
		last = f.id
	}
	deadline := time.Now().Add(5 * time.Second)
	for comments() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if comments() < 2 {
		t.Fatal("no heartbeat comment")
	}
	cancel1()

	// Resume: Last-Event-ID wins over ?since=, and ends mid-transaction.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	ch2, _ := e.openSSE(ctx2, "/v1/events?since=0", "Accept", "text/event-stream", "Last-Event-ID", last)
	for i := 3; i < len(stored.Items); i++ {
		_, ev := nextFrame(t, ch2)
		if ev != stored.Items[i] {
			t.Fatalf("resumed frame %d: %+v, want %+v", i, ev, stored.Items[i])
		}
	}
	// Then live ones, exactly once each.
	e.createService("c", 1)
	e.createService("d", 1)
	for _, name := range []string{"c", "d"} {
		_, ev := nextFrame(t, ch2)
		if ev.Kind != "service" || ev.Name != name || ev.Type != "created" {
			t.Fatalf("live event %+v, want service %s created", ev, name)
		}
	}
	select {
	case f := <-ch2:
		t.Fatalf("unexpected extra frame %+v", f)
	case <-time.After(200 * time.Millisecond):
	}
}
