package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestNetworkCommands: network create, ls, inspect and rm against a real
// server; a service joins a network with --network, which keeps the
// network from being removed until --network-rm; the container lists
// show a container's first network address.
func TestNetworkCommands(t *testing.T) {
	conn, st := realServerStore(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(append([]string{}, conn...), args...)...)
	}
	out, errOut, err := run("network", "create", "back", "--subnet", "10.8.0.0/16")
	if err != nil || out != "default.back\n" || !strings.Contains(errOut, "10.8.0.0/16, gateway 10.8.0.1") {
		t.Fatalf("network create: %q %q %v", out, errOut, err)
	}
	if _, _, err := run("network", "create", "front"); err == nil || !strings.Contains(err.Error(), `"subnet" not set`) {
		t.Errorf("network create without --subnet: %v", err)
	}
	if _, _, err := run("network", "create", "x", "--subnet", "10.8.3.0/24"); err == nil || !strings.Contains(err.Error(), `overlaps network "back"`) {
		t.Errorf("an overlapping subnet: %v", err)
	}
	out, _, err = run("network", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME SUBNET GATEWAY VNI ADDRESSES" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "default 10.7.0.0/16 10.7.0.1 ") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "back 10.8.0.0/16 10.8.0.1 ") {
		t.Fatalf("network ls: %v\n%s", err, out)
	}
	out, _, err = run("network", "inspect", "back")
	var got []api.Network
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].Gateway != "10.8.0.1" {
		t.Fatalf("network inspect: %v %s", err, out)
	}

	if _, _, err := run("service", "create", "--detach", "--name", "web", "--network", "nope", "--", "sleep", "1"); err == nil || !strings.Contains(err.Error(), "wharf network create nope") {
		t.Errorf("a service on a missing network: %v", err)
	}
	if _, _, err := run("service", "create", "--detach", "--name", "web", "--network", "back", "--", "sleep", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run("network", "rm", "back"); err == nil || !strings.Contains(err.Error(), "used by service web") {
		t.Errorf("network rm of a network in use: %v", err)
	}

	// A container of web with its address on back.
	var svc api.Service
	if err := json.Unmarshal([]byte(mustRun(t, run, "service", "inspect", "web")), &[]*api.Service{&svc}); err != nil || len(svc.Spec.Networks) != 1 {
		t.Fatalf("web: %+v %v", svc.Spec, err)
	}
	ct := api.Container{Meta: api.Meta{ID: "c0ffee0000000001", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: svc.ID, Slot: 1, Desired: api.ContainerRunning, Networks: []api.NetworkAttachment{{Network: "default.back", Name: "back", IP: "10.8.0.2"}}},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := st.Create(context.Background(), store.KindContainers, &ct); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"container", "ls"}, {"service", "ps", "web"}} {
		out := mustRun(t, run, args...)
		header, row, _ := strings.Cut(out, "\n")
		if strings.Join(strings.Fields(header), " ") != "ID NAME STATE DESIRED NODE ADDRESS PORT EXIT STARTED ERROR" ||
			!strings.HasPrefix(strings.Join(strings.Fields(row), " "), "c0ffee0000000001 web-1 Running Running - 10.8.0.2 -") {
			t.Errorf("wharf %s:\n%s", strings.Join(args, " "), out)
		}
	}

	if _, _, err := run("service", "update", "--detach", "web", "--network-rm", "back"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run("network", "rm", "back"); err != nil || out != "back\n" {
		t.Errorf("network rm: %q %v", out, err)
	}
	if _, _, err := run("network", "rm", "default"); err == nil || !strings.Contains(err.Error(), "cannot be removed") {
		t.Errorf("network rm default: %v", err)
	}
}

func mustRun(t *testing.T, run func(...string) (string, string, error), args ...string) string {
	t.Helper()
	out, _, err := run(args...)
	if err != nil {
		t.Fatalf("wharf %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestPrintPlanNetworks: the networks a deploy creates come first in its
// plan, with their subnets.
func TestPrintPlanNetworks(t *testing.T) {
	var b strings.Builder
	res := api.DeployStackResult{DryRun: true, Plan: []api.PlanEntry{{Service: "web", Action: api.PlanCreate}},
		Networks: []api.Network{{Meta: api.Meta{Name: "back"}, Subnet: "10.8.0.0/16"}}}
	if err := printPlan(&b, "shop", res); err != nil {
		t.Fatal(err)
	}
	want := "create network back (10.8.0.0/16)\ncreate web\nstack shop (dry run, nothing was changed): 1 to create, 0 to update, 0 to remove, 0 unchanged\n"
	if b.String() != want {
		t.Errorf("printPlan:\n%s\nwant\n%s", b.String(), want)
	}
}
