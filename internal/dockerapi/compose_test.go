package dockerapi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func TestSplitImageRef(t *testing.T) {
	cases := []struct{ ref, repo, tag, digest string }{
		{"busybox", "busybox", "latest", ""},
		{"127.0.0.1:5000/default/app:v1", "127.0.0.1:5000/default/app", "v1", ""},
		{"127.0.0.1:5000/default/app", "127.0.0.1:5000/default/app", "latest", ""},
		{"reg/app:v1@sha256:ab", "reg/app", "", "sha256:ab"},
		{"reg/app@sha256:ab", "reg/app", "", "sha256:ab"},
	}
	for _, c := range cases {
		repo, tag, dgst := splitImageRef(c.ref)
		if repo != c.repo || tag != c.tag || dgst != c.digest {
			t.Errorf("splitImageRef(%q) = %q %q %q", c.ref, repo, tag, dgst)
		}
	}
	if familiar("docker.io/library/busybox") != "busybox" || familiar("docker.io/team/app") != "team/app" {
		t.Error("familiar names do not match Docker Hub's spellings")
	}
}

func TestFindImage(t *testing.T) {
	d1 := "sha256:" + strings.Repeat("a", 64)
	rows := []imageRow{
		{repo: "h/default/app", tag: "v1", digest: d1, registry: true},
		{repo: "h/default/app", tag: "v2", digest: d1, registry: true},
		{repo: "busybox", tag: "latest"},
	}
	if got := findImage(rows, "h/default/app:v1"); len(got) != 2 {
		t.Errorf("by tag: %d rows, want both tags of the digest", len(got))
	}
	if got := findImage(rows, "aaaaaaaa"); len(got) != 2 {
		t.Errorf("by ID prefix: %d rows", len(got))
	}
	if got := findImage(rows, "h/default/app@"+d1); len(got) != 2 {
		t.Errorf("by digest: %d rows", len(got))
	}
	if got := findImage(rows, "docker.io/library/busybox"); len(got) != 1 || got[0].digest != "" || !strings.HasPrefix(got[0].id(), "sha256:") {
		t.Errorf("a service's unpinned image: %+v", got)
	}
	if got := findImage(rows, "h/default/app:v3"); got != nil {
		t.Errorf("a missing tag: %+v", got)
	}
}

func TestComposeNamesAndAliases(t *testing.T) {
	if got := wharfNetworkName("proj_default"); got != "proj-default" {
		t.Errorf("wharfNetworkName = %q", got)
	}
	labels := map[string]string{composeServiceLabel: "web"}
	if got := unservedAliases(labels, &network.EndpointSettings{Aliases: []string{"web"}}); len(got) != 0 {
		t.Errorf("compose's own alias refused: %v", got)
	}
	if got := unservedAliases(labels, &network.EndpointSettings{Aliases: []string{"web", "db"}}); len(got) != 1 || got[0] != "db" {
		t.Errorf("a user alias: %v", got)
	}
	if got := unservedAliases(nil, &network.EndpointSettings{Aliases: []string{"web"}}); len(got) != 1 {
		t.Errorf("docker run's alias: %v", got)
	}
	if !noAddresses(&network.EndpointIPAMConfig{}) || noAddresses(&network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("10.8.0.9")}) {
		t.Error("noAddresses")
	}
}

func TestNetworkFilters(t *testing.T) {
	n := toDockerNetwork(&api.Network{Meta: api.Meta{ID: "default.proj-default", Name: "proj-default"}, Subnet: "10.8.0.0/16", Gateway: "10.8.0.1", VNI: 9},
		[]api.Container{{Meta: api.Meta{ID: "c1", Name: "proj-web-1"}, Spec: api.ContainerSpec{Networks: []api.NetworkAttachment{{Network: "default.proj-default", IP: "10.8.0.5", Subnet: "10.8.0.0/16"}}}}})
	if n.Driver != "overlay" || n.Scope != "swarm" || len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Subnet.String() != "10.8.0.0/16" || n.IPAM.Config[0].Gateway.String() != "10.8.0.1" {
		t.Errorf("network: %+v", n)
	}
	if ep, ok := n.Containers["c1"]; !ok || ep.IPv4Address.String() != "10.8.0.5/16" || ep.Name != "proj-web-1" {
		t.Errorf("containers: %+v", n.Containers)
	}
	for f, want := range map[string]bool{
		`{"name":["proj_default"]}`: true, `{"name":["other"]}`: false, `{"driver":["overlay"]}`: true,
		`{"label":["com.docker.compose.project=proj"]}`: false, `{"name":{"proj":true}}`: true,
	} {
		r := httptest.NewRequest("GET", "/networks?filters="+f, nil)
		fs, err := parseListFilters(r)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := networkMatches(n, fs); got != want {
			t.Errorf("%s: match %v, want %v", f, got, want)
		}
	}
	if _, err := parseListFilters(httptest.NewRequest("GET", "/networks?filters=nope", nil)); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bad filters: %v", err)
	}
}

// The handler tests share one embedded etcd; each test has its prefix.
var (
	etcdOnce sync.Once
	etcd     *store.Embedded
	etcdErr  error
)

// composeServer serves the endpoint over a domain of its own store, with
// a fake built-in registry, as the actor of token (the bootstrap admin's
// when role is "", else a new token of role).
func composeServer(t *testing.T, role string) (*httptest.Server, *fakeImages) {
	t.Helper()
	etcdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dockerapi-compose-test-")
		if err != nil {
			etcdErr = err
			return
		}
		etcd, etcdErr = store.StartEmbedded(context.Background(), dir)
	})
	if etcdErr != nil {
		t.Fatal(etcdErr)
	}
	st := store.New(etcd.Client, "/test/"+strings.ReplaceAll(t.Name(), "/", "_")+"-"+role)
	ctx := context.Background()
	admin, _, err := domain.Bootstrap(ctx, st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgs := &fakeImages{tags: map[string]string{}}
	d, err := domain.New(domain.Config{Store: st, Images: imgs, RegistryHost: "reg.test:5000"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Authenticate(ctx, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		tok, err := d.CreateToken(ctx, a, "t-"+role, role, false)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = d.Authenticate(ctx, tok.Secret, ""); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{Domain: d, Authenticate: func(context.Context, []*x509.Certificate) (domain.Actor, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	composeMu.Lock()
	composeServers[t.Name()] = composeHandle{srv: s, actor: a}
	composeMu.Unlock()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, imgs
}

// composeServers are the servers composeServer made, by test name, for
// tests that call their methods.
var (
	composeMu      sync.Mutex
	composeServers = map[string]composeHandle{}
)

type composeHandle struct {
	srv   *Server
	actor domain.Actor
}

// fakeImages is a built-in registry of tags only.
type fakeImages struct {
	mu      sync.Mutex
	tags    map[string]string // "repo:tag" to digest
	removed []string
}

func (f *fakeImages) Repositories(_ context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range f.tags {
		repo, _, _ := strings.Cut(k, ":")
		if strings.HasPrefix(repo, prefix) && !seen[repo] {
			seen[repo] = true
			out = append(out, repo)
		}
	}
	return out, nil
}

func (f *fakeImages) Images(_ context.Context, repo string) ([]api.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Image
	for k, d := range f.tags {
		if r, tag, _ := strings.Cut(k, ":"); r == repo {
			out = append(out, api.Image{Repository: r, Tag: tag, Digest: d, Size: 100})
		}
	}
	return out, nil
}

func (f *fakeImages) TagDigest(_ context.Context, repo, tag string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tags[repo+":"+tag], nil
}

func (f *fakeImages) Remove(_ context.Context, repo, tag, digest string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, repo+":"+tag+"@"+digest)
	delete(f.tags, repo+":"+tag)
	return nil
}

func (f *fakeImages) GC(context.Context, bool) (api.ImageGCResult, error) {
	return api.ImageGCResult{}, nil
}

// call makes a request and returns its status and body.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestImageCalls(t *testing.T) {
	srv, imgs := composeServer(t, "")
	dgst := "sha256:" + strings.Repeat("b", 64)
	imgs.tags["default/app:v1"] = dgst
	code, body := call(t, srv, "GET", "/v1.41/images/json", "")
	var list []struct {
		ID       string `json:"Id"`
		RepoTags []string
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 1 || list[0].ID != dgst || list[0].RepoTags[0] != "reg.test:5000/default/app:v1" {
		t.Fatalf("images: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/v1.41/images/reg.test:5000/default/app:v1/json", ""); code != 200 || !strings.Contains(body, `"Id":"`+dgst) || !strings.Contains(body, `"ContainerConfig"`) {
		t.Errorf("inspect at 1.41: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/v1.50/images/reg.test:5000/default/app:v1/json", ""); code != 200 || strings.Contains(body, `"ContainerConfig"`) {
		t.Errorf("inspect at 1.50: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/images/reg.test:5000/default/nope:v1/json", ""); code != 404 || !strings.Contains(body, "No such image") {
		t.Errorf("inspect of a missing image: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/images/create?fromImage=reg.test:5000/default/app&tag=v1", ""); code != 200 || !strings.Contains(body, "Digest: "+dgst) {
		t.Errorf("pull: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/images/create?fromImage=reg.test:5000/default/nope&tag=v1", ""); code != 400 || !strings.Contains(body, "not in the built-in registry") {
		t.Errorf("pull of a missing image: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/images/create?fromSrc=-", ""); code != 501 || !strings.Contains(body, "docker push") {
		t.Errorf("import: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/images/reg.test:5000/default/app:v1/tag?repo=x", ""); code != 501 || !strings.Contains(body, "wharf image ls") {
		t.Errorf("tag: %d %s", code, body)
	}
	if code, body := call(t, srv, "DELETE", "/images/reg.test:5000/default/app:v1", ""); code != 200 || !strings.Contains(body, "Untagged") || len(imgs.removed) != 1 || imgs.removed[0] != "default/app:v1@" {
		t.Errorf("rmi: %d %s %v", code, body, imgs.removed)
	}
	if code, _ := call(t, srv, "DELETE", "/images/busybox", ""); code != 404 {
		t.Errorf("rmi of an unknown image: %d", code)
	}
}

func TestImageCallsReadOnly(t *testing.T) {
	srv, imgs := composeServer(t, api.RoleReadOnly)
	imgs.tags["default/app:v1"] = "sha256:" + strings.Repeat("c", 64)
	if code, body := call(t, srv, "DELETE", "/images/reg.test:5000/default/app:v1", ""); code != 403 || len(imgs.removed) != 0 {
		t.Errorf("a read-only token's rmi: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/networks/create", `{"Name":"ro_net"}`); code != 403 {
		t.Errorf("a read-only token's network create: %d %s", code, body)
	}
}

func TestNetworkAndVolumeCalls(t *testing.T) {
	srv, _ := composeServer(t, "")
	code, body := call(t, srv, "POST", "/v1.41/networks/create", `{"Name":"proj_default","CheckDuplicate":true,"Labels":{"com.docker.compose.project":"proj"},"Attachable":true}`)
	if code != 201 || !strings.Contains(body, `"Id":"default.proj-default"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/v1.41/networks/proj_default", ""); code != 200 || !strings.Contains(body, `"Subnet":"10.8.0.0/16"`) || !strings.Contains(body, `"Driver":"overlay"`) {
		t.Errorf("inspect: %d %s", code, body)
	}
	if code, _ := call(t, srv, "POST", "/networks/create", `{"Name":"proj_default"}`); code != 409 {
		t.Errorf("a second create: %d", code)
	}
	for body, want := range map[string]string{
		`{"Name":"m","Driver":"macvlan"}`: "driver macvlan",
		`{"Name":"i","Internal":true}`:    "internal",
		`{"Name":"v","EnableIPv6":true}`:  "IPv6",
		`{"Name":"g","IPAM":{"Config":[{"Subnet":"10.9.0.0/16","Gateway":"10.9.0.7"}]}}`: "gateway",
		`{"Name":"Bad Name"}`: "network name",
		`{}`:                  "name the network",
		`not json`:            "not JSON",
	} {
		if code, got := call(t, srv, "POST", "/networks/create", body); code != 400 || !strings.Contains(got, want) {
			t.Errorf("create %s: %d %s, want 400 saying %q", body, code, got, want)
		}
	}
	if code, body := call(t, srv, "POST", "/networks/proj_default/connect", `{"Container":"nope"}`); code != 404 {
		t.Errorf("connect of an unknown container: %d %s", code, body)
	}
	if code, body := call(t, srv, "POST", "/networks/proj_default/disconnect", `{"Container":"nope"}`); code != 501 || !strings.Contains(body, "wharf service update") {
		t.Errorf("disconnect: %d %s", code, body)
	}
	if code, body := call(t, srv, "DELETE", "/networks/proj_default", ""); code != 204 {
		t.Errorf("rm: %d %s", code, body)
	}
	if code, _ := call(t, srv, "DELETE", "/networks/default", ""); code != 400 {
		t.Errorf("rm of the default network: %d", code)
	}

	if code, body := call(t, srv, "POST", "/volumes/create", `{"Name":"proj_data","Labels":{"a":"b"}}`); code != 201 || !strings.Contains(body, `"Name":"proj_data"`) || !strings.Contains(body, `"Driver":"local"`) {
		t.Errorf("volume create: %d %s", code, body)
	}
	for body, want := range map[string]string{`{"Name":"x","Driver":"nfs"}`: "driver nfs", `{"Name":"x","DriverOpts":{"o":"1"}}`: "driver options", `{}`: "name the volume", `{"Name":"/etc"}`: "volume name"} {
		if code, got := call(t, srv, "POST", "/volumes/create", body); code != 400 || !strings.Contains(got, want) {
			t.Errorf("volume create %s: %d %s, want %q", body, code, got, want)
		}
	}
	if code, body := call(t, srv, "GET", "/volumes", ""); code != 200 || !strings.Contains(body, `"Volumes":[]`) {
		t.Errorf("volume ls: %d %s", code, body)
	}
	if code, _ := call(t, srv, "GET", "/volumes/proj_data", ""); code != 404 {
		t.Errorf("inspect of a volume no service mounts: %d", code)
	}
}

func TestAnonymousVolumes(t *testing.T) {
	vols := map[string]struct{}{"/data": {}, "/cache": {}, "/m": {}}
	got := anonymousVolumes(vols, []string{"proj_data:/data:rw"}, []mount.Mount{{Type: mount.TypeVolume, Source: "x", Target: "/m"}})
	if len(got) != 1 || got[0] != "/cache" {
		t.Errorf("anonymousVolumes = %v, want [/cache]", got)
	}
}

func TestCreatePullPolicy(t *testing.T) {
	composeServer(t, "")
	composeMu.Lock()
	s := composeServers[t.Name()]
	composeMu.Unlock()
	ctx := context.Background()
	if got := s.srv.createPullPolicy(ctx, s.actor, "reg.test:5000/default/app:v1", api.PullNever); got != "" {
		t.Errorf("a built-in registry image: policy %q, want the default (pinned, pulled by its node)", got)
	}
	if got := s.srv.createPullPolicy(ctx, s.actor, "wharf/hello:test", api.PullNever); got != api.PullNever {
		t.Errorf("a local image: policy %q, want never", got)
	}
}
