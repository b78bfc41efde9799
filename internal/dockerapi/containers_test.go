package dockerapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// cliRun is what docker 28 sends for `docker run -d --name web -e FOO=bar
// -e constraint:node==n1 -p 1234:8080 -p 9090/udp -P --label tier=front
// --memory 64m --cpus 0.5 --restart unless-stopped -v data:/data
// --network mynet img sh -c x` (defaults trimmed to the ones that matter).
const cliRun = `{"Hostname":"","User":"","AttachStdout":false,"Tty":false,"OpenStdin":false,
"ExposedPorts":{"8080/tcp":{},"9090/udp":{}},"Env":["FOO=bar","constraint:node==n1"],"Cmd":["sh","-c","x"],"Image":"img",
"Volumes":{},"WorkingDir":"","Entrypoint":null,"Labels":{"tier":"front"},
"HostConfig":{"Binds":["data:/data"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"mynet",
"PortBindings":{"8080/tcp":[{"HostIp":"","HostPort":"1234"}],"9090/udp":[{"HostIp":"","HostPort":""}]},
"RestartPolicy":{"Name":"unless-stopped","MaximumRetryCount":0},"ConsoleSize":[0,0],"PublishAllPorts":true,
"Memory":67108864,"NanoCpus":500000000,"MemorySwappiness":-1,"OomKillDisable":false,"Dns":[],"Ulimits":[],"CgroupnsMode":""},
"NetworkingConfig":{"EndpointsConfig":{"mynet":{"IPAMConfig":null,"Aliases":null,"MacAddress":"","Gateway":"","IPAddress":""}}}}`

func translate(t *testing.T, body string) (api.ServiceSpec, error) {
	t.Helper()
	b, err := parseCreateBody([]byte(body))
	if err != nil {
		return api.ServiceSpec{}, err
	}
	return b.toSpec()
}

func TestCreateTranslation(t *testing.T) {
	spec, err := translate(t, cliRun)
	if err != nil {
		t.Fatal(err)
	}
	want := api.ServiceSpec{
		Image: "img", Command: []string{"sh", "-c", "x"}, Replicas: 1, Standalone: true, Driver: "docker", PullPolicy: api.PullNever,
		Env:          map[string]string{"FOO": "bar"},
		Labels:       map[string]string{"tier": "front"},
		Constraints:  []string{"node==n1"},
		Resources:    api.Resources{MemoryBytes: 64 << 20, NanoCPUs: 5e8},
		Reservations: api.Resources{MemoryBytes: 64 << 20, NanoCPUs: 5e8},
		Autorestart:  api.PolicyAlways, PublishAll: true,
		Networks: []string{"mynet"},
		Ports:    []api.PortSpec{{ContainerPort: 8080, HostPort: 1234}, {ContainerPort: 9090, Protocol: "udp"}},
		Volumes:  []api.VolumeMount{{Type: api.VolumeNamed, Source: "data", Target: "/data"}},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec:\n got %+v\nwant %+v", spec, want)
	}
}

// cliRunIt is the part of what docker 28 sends for `docker run -it --rm
// img sh` that matters.
const cliRunIt = `{"Hostname":"","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,"OpenStdin":true,
"StdinOnce":true,"Cmd":["sh"],"Image":"img","HostConfig":{"AutoRemove":true,"ConsoleSize":[30,100],"MemorySwappiness":-1}}`

func TestCreateTTYTranslation(t *testing.T) {
	spec, err := translate(t, cliRunIt)
	if err != nil {
		t.Fatal(err)
	}
	if !spec.TTY || !spec.Interactive || spec.Autodestroy != api.PolicyAlways || spec.Autorestart != "" {
		t.Errorf("docker run -it --rm: got tty %v, interactive %v, autodestroy %q, autorestart %q; want a terminal, an open input, autodestroy ALWAYS",
			spec.TTY, spec.Interactive, spec.Autodestroy, spec.Autorestart)
	}
	// docker run -i alone (piped input): an input, no terminal.
	spec, err = translate(t, `{"Image":"img","AttachStdin":true,"OpenStdin":true,"StdinOnce":true,"Cmd":["cat"]}`)
	if err != nil || spec.TTY || !spec.Interactive || spec.Autodestroy != "" {
		t.Errorf("docker run -i: got %+v, %v", spec, err)
	}
	// docker run -t alone: a terminal, no input.
	spec, err = translate(t, `{"Image":"img","Tty":true}`)
	if err != nil || !spec.TTY || spec.Interactive {
		t.Errorf("docker run -t: got %+v, %v", spec, err)
	}
}

func TestCreatePlacementForms(t *testing.T) {
	spec, err := translate(t, `{"Image":"img","Env":["affinity:container==edge","affinity:image==~redis","constraint:disk!=ssd","constraint:region==/eu-.*/","reschedule:on-node-failure","constraint:operatingsystem==linux"],
		"Labels":{"com.docker.swarm.constraints":"[\"zone==external\"]","com.docker.swarm.affinities":"[\"service!=db\"]","com.docker.swarm.reschedule-policies":"[\"on-node-failure\"]","keep":"x"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"disk!=ssd", "region==/eu-.*/", "node.os==linux", "zone==external"}; !reflect.DeepEqual(spec.Constraints, want) {
		t.Errorf("constraints: %q, want %q", spec.Constraints, want)
	}
	if want := []string{"container==edge", "image==~redis", "service!=db"}; !reflect.DeepEqual(spec.Affinities, want) {
		t.Errorf("affinities: %q, want %q", spec.Affinities, want)
	}
	if spec.Reschedule != api.RescheduleOnNodeFailure || spec.Env != nil || !reflect.DeepEqual(spec.Labels, map[string]string{"keep": "x"}) {
		t.Errorf("reschedule %q, env %v, labels %v", spec.Reschedule, spec.Env, spec.Labels)
	}
}

func TestCreateRefusals(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"no image":         {`{}`, "needs an image"},
		"privileged":       {`{"Image":"i","HostConfig":{"Privileged":true}}`, "Privileged (--privileged)"},
		"workdir and user": {`{"Image":"i","WorkingDir":"/x","User":"1"}`, "User (--user), WorkingDir (--workdir)"},
		"hostname":         {`{"Image":"i","Hostname":"h"}`, "--hostname"},
		"rm and restart":   {`{"Image":"i","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}`, "--rm"},
		"log driver":       {`{"Image":"i","HostConfig":{"LogConfig":{"Type":"syslog"}}}`, "LogConfig"},
		"anonymous volume": {`{"Image":"i","Volumes":{"/data":{}}}`, "anonymous volume"},
		"bad bind":         {`{"Image":"i","HostConfig":{"Binds":["/data"]}}`, "SOURCE:TARGET"},
		"bind option":      {`{"Image":"i","HostConfig":{"Binds":["a:/b:z"]}}`, `option "z"`},
		"tmpfs mount":      {`{"Image":"i","HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/t"}]}}`, `type "tmpfs"`},
		"host port range":  {`{"Image":"i","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8000-8010"}]}}}`, "range of host ports"},
		"retry count":      {`{"Image":"i","HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}}}`, "without :3"},
		"restart policy":   {`{"Image":"i","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}`, "unknown restart policy"},
		"container net":    {`{"Image":"i","HostConfig":{"NetworkMode":"container:x"}}`, "share another container's network"},
		"host and others":  {`{"Image":"i","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"back":{}}}}`, "cannot be joined"},
		"alias":            {`{"Image":"i","NetworkingConfig":{"EndpointsConfig":{"back":{"Aliases":["a"]}}}}`, "aliases"},
		"bad constraint":   {`{"Image":"i","Env":["constraint:zone=~x"]}`, "constraint"},
		"bad affinity key": {`{"Image":"i","Env":["affinity:label==x"]}`, "unknown key"},
		"bad reschedule":   {`{"Image":"i","Env":["reschedule:sometimes"]}`, "unknown reschedule policy"},
		"bad label list":   {`{"Image":"i","Labels":{"com.docker.swarm.constraints":"node==x"}}`, "JSON list"},
		"unset env":        {`{"Image":"i","Env":["FOO"]}`, "no '='"},
		"cpu shares":       {`{"Image":"i","HostConfig":{"CpuShares":512}}`, "--cpu-shares"},
		"not json":         {`{`, "not a container create request"},
	}
	for name, tc := range cases {
		_, err := translate(t, tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", name, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	if n, err := checkName("/web-1"); err != nil || n != "web-1" {
		t.Errorf("checkName(/web-1) = %q, %v", n, err)
	}
	if n, err := checkName("my_app.v2"); err != nil || n != "my-app-v2" {
		t.Errorf("checkName(my_app.v2) = %q, %v; want my-app-v2", n, err)
	}
	for _, bad := range []string{"Web", "", "-x", "_x"} {
		if _, err := checkName(bad); err == nil {
			t.Errorf("checkName(%q): no error", bad)
		}
	}
	if n := randomName(); !dockerNameRE.MatchString(n) {
		t.Errorf("randomName() = %q, not a name Wharf takes", n)
	}
}

func TestSlashedContainerPath(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"GET", "/containers/node-1/web/json", "/containers/node-1%2Fweb/json"},
		{"GET", "/containers/web/json", ""},
		{"DELETE", "/containers/node-1/web", "/containers/node-1%2Fweb"},
		{"DELETE", "/containers/web", ""},
		{"GET", "/containers/web/attach/ws", ""},
		{"GET", "/containers/n1/web/attach/ws", "/containers/n1%2Fweb/attach/ws"},
		{"GET", "/containers/json", ""},
		{"GET", "/images/a/b/json", ""},
	}
	for _, tc := range cases {
		if got := slashedContainerPath(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestFilters(t *testing.T) {
	if _, err := parsePSFilters(`{"colour":["red"]}`); err == nil || !strings.Contains(err.Error(), "invalid filter 'colour'") {
		t.Errorf("unknown filter: %v", err)
	}
	if _, err := parsePSFilters(`{"status":["sleeping"]}`); err == nil {
		t.Error("bad status: no error")
	}
	f, err := parsePSFilters(`{"label":{"tier=front":true},"node":{"n1":true}}`)
	if err != nil || len(f["label"]) != 1 || f["node"][0] != "n1" {
		t.Errorf("the old form: %v, %v", f, err)
	}
	e := &entry{id: "0123456789abcdef", name: "web", node: &api.Node{Meta: api.Meta{ID: "n1id", Name: "n1"}},
		svc: &api.Service{Spec: api.ServiceSpec{Image: "redis:7", Labels: map[string]string{"tier": "front"}}}}
	sum := e.summary(e.created())
	for filter, want := range map[string]bool{
		`{"node":["n1"]}`: true, `{"node":["n2"]}`: false, `{"id":["0123"]}`: true, `{"name":["^we"]}`: true,
		`{"label":["tier=front"]}`: true, `{"label":["tier=back"]}`: false, `{"ancestor":["redis"]}`: true,
		`{"status":["created"]}`: true, `{"status":["running"]}`: false, `{"network":["bridge"]}`: true,
	} {
		f, err := parsePSFilters(filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.match(e, sum); got != want {
			t.Errorf("%s: %v, want %v", filter, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	n1 := &api.Node{Meta: api.Meta{ID: "n1id", Name: "n1"}}
	snap := &snapshot{entries: []*entry{
		{id: "aaaa111122223333", name: "web", node: n1, svc: &api.Service{}},
		{id: "aaaa999922223333", name: "db", node: n1, svc: &api.Service{}},
	}}
	for ref, want := range map[string]string{"web": "web", "n1/web": "web", "/db": "db", "aaaa9": "db", "aaaa111122223333": "web"} {
		e, err := snap.find(ref)
		if err != nil || e.name != want {
			t.Errorf("find(%q): %v, %v; want %s", ref, e, err, want)
		}
	}
	if _, err := snap.find("aaaa"); err == nil || !strings.Contains(err.Error(), "multiple IDs") {
		t.Errorf("an ambiguous prefix: %v", err)
	}
	if _, err := snap.find("nosuch"); err == nil || err.Error() != "No such container: nosuch" {
		t.Errorf("unknown: %v", err)
	}
}
