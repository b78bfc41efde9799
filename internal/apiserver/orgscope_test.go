package apiserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
	"github.com/wharfhq/wharf/internal/store"
)

// orgToken stores an API token of no user in organization org (what
// Domain.Authenticate makes an actor of that organization from) and
// returns its secret.
func orgToken(t *testing.T, st *store.Store, org, role string) string {
	t.Helper()
	secret, hash, err := pki.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	rec := records.Token{Meta: api.Meta{ID: hash[:16], Name: org + "-" + role, Org: org}, Hash: hash, Role: role, Admin: role == api.RoleAdmin}
	if err := st.Create(t.Context(), store.KindTokens, &rec); err != nil {
		t.Fatal(err)
	}
	return secret
}

// marker is in every object of organization a that can hold a string:
// b must never see it.
const marker = "zz-org-a-marker"

// orgA is organization a's objects, one of every kind.
type orgA struct {
	token string
	ids   map[string]string   // what -> ID
	refs  map[string][]string // route kind -> the refs (ID, name) that name a's object
}

func setUpOrgA(t *testing.T, e *env) *orgA {
	t.Helper()
	a := &orgA{token: orgToken(t, e.st, "a", api.RoleAdmin), ids: map[string]string{}}
	call := func(method, path, body string, want int, out any) {
		t.Helper()
		code, b := e.do(method, path, a.token, body)
		if code != want {
			t.Fatalf("a: %s %s: %d %s", method, path, code, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var svc api.Service
	call("POST", "/v1/services", `{"name":"web","spec":{"command":["sleep","1000"],"env":{"M":"`+marker+`"},"replicas":1}}`, 201, &svc)
	var st api.DeployStackResult
	call("PUT", "/v1/stacks/app", `{"spec":{"services":[{"name":"db","spec":{"command":["sleep","`+marker+`"],"replicas":1}}]}}`, 201, &st)
	var tok api.TokenCreated
	call("POST", "/v1/tokens", `{"name":"a-ci","role":"deploy"}`, 201, &tok)
	var jt api.JoinTokenCreated
	call("POST", "/v1/join-tokens", `{}`, 201, &jt)
	// An owner, a team and the organization object of a's; users and
	// organizations are made by the server's administrators.
	for _, c := range []struct{ path, body string }{
		{"/v1/users", `{"name":"alice","password":"alice-password-1"}`},
		{"/v1/orgs", `{"name":"a","owner":"alice"}`},
	} {
		if code, b := e.do("POST", c.path, e.admin, c.body); code != 201 {
			t.Fatalf("admin: POST %s: %d %s", c.path, code, b)
		}
	}
	var team api.Team
	call("POST", "/v1/teams", `{"name":"devs","access":{"applications":"read"}}`, 201, &team)
	var sec api.Secret
	call("POST", "/v1/secrets", `{"name":"a-secret","data":"`+base64.StdEncoding.EncodeToString([]byte(marker))+`"}`, 201, &sec)
	var net api.Network
	call("POST", "/v1/networks", `{"name":"a-net","subnet":"10.77.0.0/16"}`, 201, &net)
	call("PUT", "/v1/registry/logins/registry.a.example:5000", `{"username":"a-robot","password":"`+marker+`"}`, 200, nil)
	node := api.Node{Meta: api.Meta{ID: "a0de00000000a0de", Name: "a-host", Org: "a"}, Hostname: "a-host",
		Labels: map[string]string{"m": marker}, State: api.NodeDeployed, Addresses: []string{"10.9.9.9"}}
	c := api.Container{Meta: api.Meta{ID: "c0c0000000000a0c", Name: "web-1", Org: "a"},
		Spec:   api.ContainerSpec{Service: svc.ID, Slot: 1, Node: node.ID, Driver: "exec", Desired: api.ContainerRunning, Image: marker},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	tx := e.st.Txn()
	tx.Create(store.KindNodes, &node)
	tx.Create(store.KindContainers, &c)
	tx.Emit(api.Event{Kind: "container", Object: c.ID, Name: c.Name, Type: "created", Message: marker})
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.logs.mu.Lock()
	e.logs.lines[c.ID] = []string{"log line " + marker}
	e.logs.mu.Unlock()
	a.ids = map[string]string{"service": svc.ID, "stack": st.Stack.ID, "token": tok.Token.ID, "jointoken": jt.JoinToken.ID,
		"node": node.ID, "container": c.ID, "secret": sec.ID, "team": team.ID, "network": net.ID}
	// The services the stack made.
	var l api.List[api.Service]
	call("GET", "/v1/services?stack="+st.Stack.ID, "", 200, &l)
	for _, s := range l.Items {
		a.ids["stack service "+s.Name] = s.ID
	}
	a.refs = map[string][]string{
		"service":   {svc.ID, "web", a.ids["stack service app-db"], "app-db"},
		"stack":     {st.Stack.ID, "app"},
		"token":     {tok.Token.ID},
		"jointoken": {jt.JoinToken.ID},
		"node":      {node.ID, "a-host"},
		"container": {c.ID, "web-1"},
		"secret":    {sec.ID, "a-secret"},
		"network":   {net.ID, "a-net"},
		"team":      {team.ID},
		"registry":  {"registry.a.example:5000"},
		"org":       {"a"},
		"user":      {"alice"},
	}
	// An image in a's repository of the built-in registry, when the env
	// has one (pushed past the front door: its storage is the point).
	if reg, ok := e.s.cfg.Images.(*registry.Registry); ok {
		raw := httptest.NewServer(reg.Handler())
		defer raw.Close()
		registrytest.Push(t, raw.Client(), raw.URL, nil, "a/private-app", "v1", marker)
		a.refs["image"] = []string{"a/private-app:v1"}
		a.ids["image"] = "a/private-app"
	}
	// a sees its own: the set-up is real.
	var ev api.List[api.Event]
	call("GET", "/v1/events", "", 200, &ev)
	if len(ev.Items) < 5 {
		t.Fatalf("a's events: %d", len(ev.Items))
	}
	return a
}

// leaks says what of a's the body b got shows: the marker, or an ID of
// a's other than the ref b sent (which errors echo).
func (a *orgA) leaks(body []byte, sent string) string {
	s := string(body)
	if strings.Contains(s, marker) {
		return "the marker"
	}
	for what, id := range a.ids {
		if id != sent && strings.Contains(s, id) {
			return what + " " + id
		}
	}
	return ""
}

// TestCrossOrgRoutes calls every route of the route table with a token of
// organization b against organization a's objects: every route naming an
// object answers 404 (never 2xx, never a's data), every list shows none of
// a's objects, the event stream and logs likewise. A new route fails this
// test until it is exercised here or listed as public.
func TestCrossOrgRoutes(t *testing.T) {
	e := newEnv(t, withSecrets(t), withRegistry(t, nil))
	a := setUpOrgA(t, e)
	b := orgToken(t, e.st, "b", api.RoleAdmin)

	// Routes with no token, outside any organization.
	publicOK := map[string]string{
		"POST /v1/join": "a node's enrolment: the join token is the credential (the gateway gives the node the token's organization)",
		"GET /v1/ca":    "the cluster CA certificate", "GET /livez": "liveness", "GET /readyz": "readiness",
		"GET /version": "the build", "GET /metrics": "request counters by route pattern",
		"POST /v1/login": "trades a user's own name and password for a token of that user; without them, nothing",
	}
	// Routes only the server's administrators may call (users and
	// organizations are the server's, not an organization's): b is refused
	// before anything is looked up, the same for a's object and for one
	// that does not exist, so the refusal tells b nothing.
	adminOnly := map[string]bool{
		"POST /v1/users": true, "DELETE /v1/users/{id}": true, "PUT /v1/users/{id}/password": true,
		"POST /v1/orgs": true, "PATCH /v1/orgs/{id}": true, "DELETE /v1/orgs/{id}": true,
		"POST /v1/me/password": true, // b's token is no user's: it has no password to change
		"POST /v1/images/gc":   true, // the registry's garbage is every organization's
	}
	// Bodies that pass decoding, so a refusal is about the object.
	bodies := map[string]string{
		"PATCH /v1/nodes/{id}":           `{"labels":{"x":"y"}}`,
		"POST /v1/services/{id}/scale":   `{"replicas":3}`,
		"PATCH /v1/services/{id}":        `{"spec":{"replicas":3}}`,
		"POST /v1/containers/{id}/exec":  `{"cmd":["ls"]}`,
		"PUT /v1/stacks/{id}":            `{"dry_run":true,"spec":{"services":[{"name":"x","spec":{"command":["sleep","1"],"replicas":1}}]}}`, // a plan only: b makes no stack named like a's
		"POST /v1/services":              `{"name":"bweb","spec":{"command":["sleep","1000"],"replicas":1}}`,
		"POST /v1/tokens":                `{"name":"b-ci","role":"read-only"}`,
		"POST /v1/join-tokens":           `{}`,
		"POST /v1/ui/signin-codes":       ``,
		"POST /v1/secrets":               `{"name":"b-secret","data":"eA=="}`,
		"POST /v1/networks":              `{"name":"b-net","subnet":"10.77.0.0/16"}`, // the same subnet as a's: organizations are apart
		"PUT /v1/secrets/{id}":           `{"data":"eA=="}`,
		"PATCH /v1/secrets/{id}":         `{"data":"eA=="}`,
		"POST /v1/services/{id}/stop":    ``,
		"POST /v1/services/{id}/start":   ``,
		"POST /v1/services/{id}/restart": ``,
		"POST /v1/users":                 `{"name":"bob","password":"bob-password-1"}`,
		"PUT /v1/users/{id}/password":    `{"new":"another-password"}`,
		"POST /v1/me/password":           `{"old":"x","new":"another-password"}`,
		"POST /v1/orgs":                  `{"name":"c","owner":"alice"}`,
		"PATCH /v1/orgs/{id}":            `{"quotas":{"containers":1}}`,
		"POST /v1/teams":                 `{"name":"bteam","access":{"applications":"read"}}`,
		"PATCH /v1/teams/{id}":           `{"access":{"applications":"admin"}}`,
		"POST /v1/images/gc":             ``,
		"PUT /v1/registry/logins/{id}":   `{"username":"b-robot","password":"b-password"}`,
		"POST /v1/teams/{id}/members":    `{"user":"alice"}`,
	}
	// Routes whose {id} is a name to create in the caller's organization:
	// b's call makes b's own object, and must leave a's alone.
	// A registry credential is per organization and host: b's login
	// for a's host stores b's own, and b's logout removes that one.
	upsert := map[string]bool{"PUT /v1/stacks/{id}": true, "PUT /v1/registry/logins/{id}": true, "DELETE /v1/registry/logins/{id}": true}

	covered, calls := 0, 0
	var creates, named, lists, queried []route
	for _, rt := range e.s.table {
		key := rt.method + " " + rt.path
		switch {
		case rt.access == public:
			if publicOK[key] == "" {
				t.Errorf("%s is public but not listed as such in this test: list why it serves no organization's data", key)
			}
			continue
		case strings.Contains(rt.path, "{id}"):
			if a.refs[rt.kind] == nil {
				t.Errorf("%s: no object of kind %q of organization a to call it with: add one to setUpOrgA", key, rt.kind)
				continue
			}
			named = append(named, rt)
		case rt.method == "DELETE" && rt.path == "/v1/images", rt.method == "POST" && rt.path == "/v1/builds":
			queried = append(queried, rt) // names its image in the query
		case rt.method == "GET":
			lists = append(lists, rt)
		case rt.method == "POST":
			if _, ok := bodies[key]; !ok {
				t.Errorf("%s: a create route with no body in this test: add one", key)
				continue
			}
			creates = append(creates, rt)
		default:
			t.Errorf("%s: neither a route naming an object, a list nor a create: teach this test about it", key)
			continue
		}
		covered++
	}
	// refusedAlike checks that b's call on a's object is refused exactly
	// as the same call on an object that does not exist.
	refusedAlike := func(method, path, ref, body string, code int, got []byte) {
		t.Helper()
		if code != http.StatusForbidden {
			t.Errorf("b: %s %s: %d, want 403: %s", method, path, code, got)
			return
		}
		ghost := strings.Replace(path, ref, "nosuch", 1)
		c2, b2 := e.do(method, ghost, b, body)
		calls++
		if c2 != code || strings.ReplaceAll(string(b2), "nosuch", ref) != string(got) {
			t.Errorf("b: %s %s answers %d %s, but for a missing object %d %s", method, path, code, got, c2, b2)
		}
	}
	// b makes its own objects first, so b's lists are not empty.
	for _, rt := range creates {
		key := rt.method + " " + rt.path
		code, body := e.do(rt.method, rt.path, b, bodies[key])
		calls++
		if adminOnly[key] {
			if code != http.StatusForbidden {
				t.Errorf("b: %s: %d, want 403: %s", key, code, body)
			}
			continue
		}
		if code/100 != 2 {
			t.Errorf("b: %s: %d %s", key, code, body)
		}
		if l := a.leaks(body, ""); l != "" {
			t.Errorf("b: %s shows a's %s: %s", key, l, body)
		}
	}
	extra := []string{"?service=" + a.ids["service"], "?service=web"}
	for _, rt := range lists {
		paths := []string{rt.path, rt.path + "?limit=1"}
		switch rt.path {
		case "/v1/containers":
			paths = append(paths, "/v1/containers?node="+a.ids["node"])
		case "/v1/services":
			paths = append(paths, "/v1/services?stack="+a.ids["stack"], "/v1/services?stack=app")
		}
		for _, path := range paths {
			code, body := e.do(rt.method, path, b, "")
			calls++
			if l := a.leaks(body, strings.TrimPrefix(path, "/v1/services?stack=")); l != "" {
				t.Errorf("b: GET %s shows a's %s: %s", path, l, body)
			}
			if code != 200 && !strings.Contains(path, "stack=") {
				t.Errorf("b: GET %s: %d %s", path, code, body)
			}
		}
	}
	for _, q := range extra {
		code, body := e.do("GET", "/v1/containers"+q, b, "")
		calls++
		if l := a.leaks(body, strings.TrimPrefix(q, "?service=")); l != "" || (code != 404 && q != "?service=web") {
			t.Errorf("b: GET /v1/containers%s: %d %s", q, code, body)
		}
	}
	for _, rt := range named {
		key := rt.method + " " + rt.path
		for _, ref := range a.refs[rt.kind] {
			path := strings.Replace(strings.Replace(rt.path, "{id}", ref, 1), "{user}", "alice", 1)
			code, body := e.do(rt.method, path, b, bodies[key])
			calls++
			if l := a.leaks(body, ref); l != "" {
				t.Errorf("b: %s %s shows a's %s: %s", rt.method, path, l, body)
			}
			switch {
			case adminOnly[key]:
				refusedAlike(rt.method, path, ref, bodies[key], code, body)
			case upsert[key] && code/100 == 2:
			case code == http.StatusNotFound:
			case code == http.StatusMethodNotAllowed || code == http.StatusBadRequest:
				t.Logf("b: %s %s: %d (method or body): %s", rt.method, path, code, body)
			default:
				t.Errorf("b: %s %s: %d, want 404: %s", rt.method, path, code, body)
			}
		}
	}
	for _, rt := range queried {
		if rt.path == "/v1/builds" {
			// b may not build into a's repositories: refused before
			// anything is looked up, exactly like a missing organization's.
			code, body := e.do("POST", "/v1/builds?repository=a/private-app&tag=v1", b, "tar")
			c2, b2 := e.do("POST", "/v1/builds?repository=nosuch/private-app&tag=v1", b, "tar")
			calls += 2
			if code != http.StatusForbidden || c2 != code || strings.ReplaceAll(string(b2), "nosuch/", "a/") != string(body) {
				t.Errorf("b: POST /v1/builds into a's repository: %d %s; another: %d %s", code, body, c2, b2)
			}
			continue
		}
		// The image is named in the query (a reference has slashes): a's
		// image is not found for b, exactly like a missing one.
		ref := a.refs["image"][0]
		code, body := e.do("DELETE", "/v1/images?ref="+ref, b, "")
		c2, b2 := e.do("DELETE", "/v1/images?ref=a/nosuch:v1", b, "")
		calls += 2
		if code != http.StatusNotFound || c2 != code || strings.ReplaceAll(string(b2), "nosuch", "private-app") != string(body) {
			t.Errorf("b: DELETE /v1/images?ref=%s: %d %s; a missing one: %d %s", ref, code, body, c2, b2)
		}
	}
	// b's audit trail now holds the refs b sent (a's IDs among them), and
	// only b's own actions.
	var acts api.List[api.Action]
	if code, body := e.do("GET", "/v1/actions?limit=1000", b, ""); code != 200 || json.Unmarshal(body, &acts) != nil || strings.Contains(string(body), marker) {
		t.Errorf("b's actions: %d %s", code, body)
	}
	for _, it := range acts.Items {
		if it.Org != "b" || it.Who != "b-admin" {
			t.Errorf("b lists action %+v", it)
		}
	}
	// b's lists show b's own objects: the filter keeps, not only drops.
	var bl api.List[api.Service]
	if code, body := e.do("GET", "/v1/services", b, ""); code != 200 || json.Unmarshal(body, &bl) != nil || len(bl.Items) == 0 {
		t.Errorf("b's services: %d %s", code, body)
	}
	for _, it := range bl.Items {
		if it.Org != "b" {
			t.Errorf("b lists %+v", it.Meta)
		}
	}
	// a's objects are as a left them.
	var svc api.Service
	if code, body := e.do("GET", "/v1/services/web", a.token, ""); code != 200 || json.Unmarshal(body, &svc) != nil || svc.Spec.Replicas != 1 || svc.Terminating || svc.ID != a.ids["service"] {
		t.Errorf("a's web after b: %d %s", code, body)
	}
	for _, p := range []string{"/v1/stacks/app", "/v1/nodes/a-host", "/v1/containers/web-1"} {
		if code, body := e.do("GET", p, a.token, ""); code != 200 || strings.Contains(string(body), `"terminating":true`) {
			t.Errorf("a: GET %s after b: %d %s", p, code, body)
		}
	}
	var logins []api.RegistryLogin
	if code, body := e.do("GET", "/v1/registry/logins", a.token, ""); code != 200 || json.Unmarshal(body, &logins) != nil ||
		len(logins) != 1 || logins[0].Username != "a-robot" || strings.Contains(string(body), marker) {
		t.Errorf("a's registry logins after b: %d %s", code, body)
	}
	var n api.Node
	if _, body := e.do("GET", "/v1/nodes/a-host", a.token, ""); json.Unmarshal(body, &n) != nil || n.Labels["m"] != marker || n.Labels["x"] != "" {
		t.Errorf("a's node labels after b: %s", body)
	}
	for _, p := range []string{"/v1/tokens", "/v1/join-tokens"} {
		if _, body := e.do("GET", p, a.token, ""); !strings.Contains(string(body), a.ids[map[string]string{"/v1/tokens": "token", "/v1/join-tokens": "jointoken"}[p]]) {
			t.Errorf("a's %s after b: %s", p, body)
		}
	}
	// The event stream: b sees its own new event, never a's.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/events?stream=1", nil)
	req.Header.Set("Authorization", "Bearer "+b)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("b's event stream: %d", resp.StatusCode)
	}
	if code, body := e.do("POST", "/v1/services/web/scale", a.token, `{"replicas":2}`); code != 200 {
		t.Fatalf("a scales: %d %s", code, body)
	}
	if code, body := e.do("POST", "/v1/services", b, `{"name":"last","spec":{"command":["sleep","1"],"replicas":1}}`); code != 201 {
		t.Fatalf("b creates: %d %s", code, body)
	}
	var seen strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "service last created") {
		n, err := resp.Body.Read(buf)
		seen.Write(buf[:n])
		if err == io.EOF || ctx.Err() != nil {
			t.Fatalf("b's stream ended before its own event: %s", seen.String())
		}
	}
	calls += 3
	if l := a.leaks([]byte(seen.String()), ""); l != "" || strings.Contains(seen.String(), "scaled from 1 to 2") {
		t.Errorf("b's event stream shows a's %s: %s", l, seen.String())
	}
	t.Logf("cross-organization: %d of %d routes covered (%d public, listed), %d calls with b's token", covered, len(e.s.table), len(publicOK), calls)
}
