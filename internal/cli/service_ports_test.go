package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestCreateFlagsPortForms: -p takes every Docker form (api.ParsePublish
// has the details), --expose ranges, -P and --network-mode.
func TestCreateFlagsPortForms(t *testing.T) {
	cf := createFlags{image: "web",
		publish:     []string{"127.0.0.1:8080:80", "[::1]::53/udp", "9000-9001:9000-9001", "mode=ingress,published=443,target=8443"},
		expose:      []string{"7000-7001/udp", "6000"},
		publishAll:  true,
		networkMode: " Bridge ",
	}
	spec, err := cf.spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantPorts := []api.PortSpec{
		{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"},
		{ContainerPort: 53, HostIP: "::1", Protocol: "udp"},
		{ContainerPort: 9000, HostPort: 9000}, {ContainerPort: 9001, HostPort: 9001},
		{ContainerPort: 8443, HostPort: 443, Mode: api.PortModeIngress},
	}
	wantExpose := []api.PortSpec{{ContainerPort: 7000, Protocol: "udp"}, {ContainerPort: 7001, Protocol: "udp"}, {ContainerPort: 6000}}
	if !reflect.DeepEqual(spec.Ports, wantPorts) || !reflect.DeepEqual(spec.Expose, wantExpose) || !spec.PublishAll || spec.NetworkMode != "bridge" {
		t.Fatalf("spec ports %+v expose %+v -P %v mode %q", spec.Ports, spec.Expose, spec.PublishAll, spec.NetworkMode)
	}
	for flags, want := range map[*createFlags]string{
		{expose: []string{"80:80"}}:               "--expose: \"80:80\"",
		{publish: []string{"8000-8001:80"}}:       "--publish: \"8000-8001:80\": a range of host ports",
		{publish: []string{"target=80,mode=vip"}}: "--publish: \"target=80,mode=vip\": mode",
	} {
		if _, err := flags.spec(nil); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want it to start with %q", err, want)
		}
	}
}

// TestUpdateFlagsPortsPatch: --network-mode, -P and --expose/--expose-rm
// patch their fields; -p replaces every binding of its container port.
func TestUpdateFlagsPortsPatch(t *testing.T) {
	cmd := serviceUpdate(&globals{})
	if err := cmd.ParseFlags([]string{"--network-mode", "host", "-P=false", "--expose", "9001", "--expose-rm", "9000", "-p", "127.0.0.1:8081:80"}); err != nil {
		t.Fatal(err)
	}
	var f updateFlags
	f.spec.networkMode, f.spec.expose, f.exposeRm, f.spec.publish = "host", []string{"9001"}, []string{"9000"}, []string{"127.0.0.1:8081:80"}
	cur := api.ServiceSpec{PublishAll: true, Expose: []api.PortSpec{{ContainerPort: 9000}, {ContainerPort: 9002}},
		Ports: []api.PortSpec{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 80, HostPort: 8090, HostIP: "::1"}, {ContainerPort: 81}}}
	p, err := f.patch(cmd, cur, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantExpose := []api.PortSpec{{ContainerPort: 9002}, {ContainerPort: 9001}}
	wantPorts := []api.PortSpec{{ContainerPort: 81}, {ContainerPort: 80, HostPort: 8081, HostIP: "127.0.0.1"}}
	if p["network_mode"] != "host" || p["publish_all"] != false || !reflect.DeepEqual(p["expose"], wantExpose) || !reflect.DeepEqual(p["ports"], wantPorts) {
		t.Fatalf("patch %+v", p)
	}
}
