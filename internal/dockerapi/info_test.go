package dockerapi

// info_test.go: the pieces of /info and /events that need no server.

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestParseFilters(t *testing.T) {
	f, err := parseFilters(`{"type":{"container":true},"event":{"start":true,"die":true,"kill":false}}`, eventFilterKeys)
	if err != nil || len(f["type"]) != 1 || len(f["event"]) != 2 {
		t.Fatalf("map form: %v %v", f, err)
	}
	f, err = parseFilters(`{"container":["web-1"]}`, eventFilterKeys)
	if err != nil || f["container"][0] != "web-1" {
		t.Fatalf("list form: %v %v", f, err)
	}
	if _, err := parseFilters(`{"bogus":{"x":true}}`, eventFilterKeys); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "invalid filter 'bogus'") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := parseFilters(`not json`, eventFilterKeys); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestParseEventTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
		"1700000000.000000001": time.Unix(1700000000, 1),
		"2023-11-14T22:13:20Z": time.Unix(1700000000, 0),
		"":                     {},
	} {
		got, err := parseEventTime("since", in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := parseEventTime("since", "yesterday"); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "since") {
		t.Errorf("a bad time: %v", err)
	}
}

func TestContainerActions(t *testing.T) {
	for _, c := range []struct {
		typ, state string
		want       events.Action
	}{
		{"created", "", events.ActionCreate},
		{"state", "Running", events.ActionStart},
		{"state", "Stopping", events.ActionKill},
		{"state", "Stopped", events.ActionDie},
		{"state", "Terminated", events.ActionDie},
		{"state", "Starting", ""},
		{"deleted", "", events.ActionDestroy},
		{"placed", "", ""},
		{"pulling", "Starting", ""},
	} {
		if got := containerAction(api.Event{Kind: "container", Type: c.typ, State: c.state}); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.typ, c.state, got, c.want)
		}
	}
}

func TestEventFilters(t *testing.T) {
	msg := eventMessage{Message: events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: "abcdef0123456789", Attributes: map[string]string{"name": "web-1", "node.name": "alpha", "node.id": "n1", "image": "nginx:1@sha256:00", "tier": "front"}}}}
	for _, c := range []struct {
		filters map[string][]string
		want    bool
	}{
		{nil, true},
		{map[string][]string{"type": {"container"}}, true},
		{map[string][]string{"type": {"node"}}, false},
		{map[string][]string{"event": {"die", "start"}}, true},
		{map[string][]string{"container": {"web-1"}}, true},
		{map[string][]string{"container": {"abcdef"}}, true},
		{map[string][]string{"container": {"web-2"}}, false},
		{map[string][]string{"node": {"alpha"}}, true},
		{map[string][]string{"node": {"n1"}}, true},
		{map[string][]string{"node": {"beta"}}, false},
		{map[string][]string{"label": {"tier"}}, true},
		{map[string][]string{"label": {"tier=front"}}, true},
		{map[string][]string{"label": {"tier=back"}}, false},
		{map[string][]string{"image": {"nginx:1"}}, true},
		{map[string][]string{"type": {"container"}, "node": {"beta"}}, false},
	} {
		m := &eventMapper{filters: c.filters}
		if got := m.passes(msg); got != c.want {
			t.Errorf("%v: %v, want %v", c.filters, got, c.want)
		}
	}
}

func TestSystemStatusListsNodes(t *testing.T) {
	nodes := []api.Node{
		{Meta: api.Meta{ID: "n2", Name: "beta"}, State: api.NodeUnreachable, CPUs: 2, MemoryBytes: 2 << 30},
		{Meta: api.Meta{ID: "n1", Name: "alpha"}, State: api.NodeDeployed, CPUs: 4, MemoryBytes: 8 << 30, Labels: map[string]string{"zone": "a"}, Address: "10.0.0.1", AgentVersion: "1.0", EngineVersion: "28.2.2"},
	}
	c := &counts{}
	c.add(&api.Container{Spec: api.ContainerSpec{Resources: api.Resources{NanoCPUs: 5e8, MemoryBytes: 256 << 20}}, Status: api.ContainerStatus{State: api.ContainerRunning}})
	lines := map[string]string{}
	var order []string
	for _, kv := range systemStatus(nodes, map[string]*counts{"n1": c}) {
		order = append(order, strings.TrimSpace(kv[0]))
		if _, seen := lines[strings.TrimSpace(kv[0])]; !seen {
			lines[strings.TrimSpace(kv[0])] = kv[1]
		}
	}
	if lines["Nodes"] != "2" || lines["alpha"] != "10.0.0.1" || lines["└ Status"] != "Healthy" ||
		lines["└ Containers"] != "1 (1 Running, 0 Paused, 0 Stopped)" || lines["└ Reserved CPUs"] != "0.5 / 4" ||
		lines["└ Reserved Memory"] != "256 MiB / 8 GiB" || lines["└ Labels"] != "zone=a" || lines["└ ServerVersion"] != "1.0 (Docker Engine 28.2.2)" {
		t.Errorf("system status: %v", lines)
	}
	if strings.Join(order, ",")[:len("Role,Strategy,Filters,Nodes,alpha")] != "Role,Strategy,Filters,Nodes,alpha" {
		t.Errorf("order: %v", order)
	}
}
