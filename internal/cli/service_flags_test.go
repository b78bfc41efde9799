package cli

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestCreateFlagsSpec(t *testing.T) {
	cf := createFlags{
		image: "redis", replicas: 2, strategy: "binpack",
		constraints: []string{"zone==a", "node==/n{1,2}/"}, affinities: []string{"service!=cache"},
		publish: []string{"6379:6379", "53/udp", "0:80/tcp"}, reserveMemory: "256M", reserveCPU: "0.5",
		memory: "1GiB", cpus: "2", autorestart: "on_failure", autodestroy: "OFF", entrypoint: "redis-server --save",
	}
	spec, err := cf.spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.PortSpec{{ContainerPort: 6379, HostPort: 6379}, {ContainerPort: 53, Protocol: "udp"}, {ContainerPort: 80, Protocol: "tcp"}}
	if len(spec.Ports) != 3 || spec.Ports[0] != want[0] || spec.Ports[1] != want[1] || spec.Ports[2] != want[2] {
		t.Errorf("ports %+v", spec.Ports)
	}
	if spec.Reservations != (api.Resources{MemoryBytes: 256 << 20, NanoCPUs: 5e8}) || spec.Resources != (api.Resources{MemoryBytes: 1 << 30, NanoCPUs: 2e9}) {
		t.Errorf("reservations %+v, resources %+v", spec.Reservations, spec.Resources)
	}
	if spec.Autorestart != api.PolicyOnFailure || spec.Autodestroy != api.PolicyOff || strings.Join(spec.Entrypoint, "|") != "redis-server|--save" ||
		len(spec.Constraints) != 2 || spec.Constraints[1] != "node==/n{1,2}/" || spec.Strategy != "binpack" {
		t.Errorf("spec %+v", spec)
	}
}

func TestCreateFlagsErrors(t *testing.T) {
	cases := []struct {
		edit func(*createFlags)
		want string
	}{
		{func(f *createFlags) { f.publish = []string{"80:http"} }, "--publish: \"80:http\""},
		{func(f *createFlags) { f.publish = []string{"80/sctp"} }, "--publish: \"80/sctp\": protocol"},
		{func(f *createFlags) { f.publish = []string{"70000:80"} }, "--publish"},
		{func(f *createFlags) { f.reserveMemory = "lots" }, "--reserve-memory: \"lots\""},
		{func(f *createFlags) { f.memory = "-1G" }, "--memory"},
		{func(f *createFlags) { f.reserveCPU = "half" }, "--reserve-cpu: \"half\""},
		{func(f *createFlags) { f.cpus = "-2" }, "--cpus"},
		{func(f *createFlags) { f.env = []string{"NOEQUALS"} }, "--env: variable \"NOEQUALS\": want key=value"},
	}
	for _, tc := range cases {
		var f createFlags
		tc.edit(&f)
		if _, err := f.spec(nil); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error %v, want it to start with %q", err, tc.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "256M": 256 << 20, "256MB": 256 << 20, "1.5G": 3 << 29, "2Gi": 2 << 30, "1k": 1024, "1T": 1 << 40} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestServiceCreateHelp(t *testing.T) {
	root := NewRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"service", "create", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--constraint", "--affinity", "--publish", "--reserve-memory", "--reserve-cpu", "--memory", "--cpus", "--autorestart", "--autodestroy", "--entrypoint", "--strategy"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}

func TestUpdateFlagsRollbackPatch(t *testing.T) {
	cmd := serviceUpdate(&globals{})
	if err := cmd.ParseFlags([]string{"--rollback-parallelism", "3", "--rollback-order", "start-first"}); err != nil {
		t.Fatal(err)
	}
	var f updateFlags
	f.rbParallelism, f.rbOrder = 3, api.OrderStartFirst
	cur := api.ServiceSpec{Rollback: &api.UpdateConfig{Delay: "2s"}}
	p, err := f.patch(cmd, cur, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := p["rollback"].(api.UpdateConfig)
	if !ok || rb != (api.UpdateConfig{Parallelism: 3, Order: api.OrderStartFirst, Delay: "2s"}) {
		t.Fatalf("patch %+v: want the rollback config changed and the rest kept", p)
	}
	if _, ok := p["update"]; ok {
		t.Fatalf("patch %+v changes the update config too", p)
	}
}
