package flood

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// route is one API route as server.go declares it.
type route struct {
	method, path string
}

// routes reads the route table from internal/apiserver/server.go, so a
// route added there is flooded too.
func routes(t *testing.T) []route {
	t.Helper()
	src, err := os.ReadFile("../../internal/apiserver/server.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\{"(GET|HEAD|POST|PUT|PATCH|DELETE)", "(/[^"]*)"`)
	var out []route
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		out = append(out, route{m[1], m[2]})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in server.go: has its table changed shape?", len(out))
	}
	return out
}

// streaming routes answer for as long as the client listens: they are
// flooded only with bad auth and methods, never read.
func streaming(path string) bool {
	return strings.HasSuffix(path, "/logs") || path == "/v1/events"
}

// public routes need no token.
func public(path string) bool {
	switch path {
	case "/v1/join", "/v1/ca", "/livez", "/readyz", "/version", "/metrics":
		return true
	}
	return false
}

// strict routes must answer 413 to a body over the limit: they always
// decode their body.
func strict(r route) bool {
	return r.method == "POST" && (r.path == "/v1/services" || r.path == "/v1/tokens")
}

// samples are well-formed bodies per path suffix, which the generators
// break.
var samples = map[string]string{
	"/v1/services":       `{"name":"web","spec":{"command":["sleep","60"],"driver":"fake","replicas":1,"env":{"A":"1"},"tags":["zone=a"]}}`,
	"/v1/services/{id}":  `{"spec":{"replicas":1,"update":{"parallelism":2,"delay":"1s"},"healthcheck":{"command":["true"],"interval":"5s"}}}`,
	"/scale":             `{"replicas":2}`,
	"/v1/tokens":         `{"name":"ci","admin":false}`,
	"/v1/join-tokens":    `{"rotate":false}`,
	"/v1/join":           `{"token":"WHARF-JOIN-x","csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n","hostname":"h1","labels":{"a":"b"}}`,
	"/v1/nodes/{id}":     `{"labels":{"zone":"a"}}`,
	"/exec":              `{"command":["ls","-l"]}`,
	"/v1/stacks":         `{"name":"s","compose":"services:\n  web:\n    image: nginx\n"}`,
	"/v1/stacks/{id}":    `{"compose":"services: {}"}`,
	"default":            `{"name":"x","spec":{"replicas":1},"labels":{"a":"b"},"revision":3}`,
	"/v1/services/{id}/": `{}`,
}

func sample(path string) string {
	if s, ok := samples[path]; ok {
		return s
	}
	for suffix, s := range samples {
		if strings.HasPrefix(suffix, "/") && !strings.HasPrefix(suffix, "/v1") && strings.HasSuffix(path, suffix) {
			return s
		}
	}
	return samples["default"]
}

// kinds of malformed request.
const (
	kindRandomBytes = iota
	kindTruncated
	kindNested
	kindHugeString
	kindWrongTypes
	kindUnknownField
	kindOversize
	kindBadPath
	kindBadQuery
	kindBadIfMatch
	kindBadAuth
	kindBadMethod
	numKinds
)

var kindNames = [numKinds]string{"random bytes", "truncated JSON", "nested JSON", "huge string", "wrong types",
	"unknown field", "over the limit", "bad path", "bad query", "bad If-Match", "bad auth", "bad method"}

// request is one malformed request to send.
type request struct {
	kind    int
	method  string
	path    string // raw request target, sent as is
	body    []byte
	auth    string // Authorization header; "" sends none
	ifMatch string
	expect  int // a status that must come back, or 0 for "anything below 500"
}

// gen makes malformed requests from a deterministic random source.
type gen struct {
	rng     *rand.Rand
	routes  []route
	writes  []route // routes that take a body
	lists   []route // GET routes without an ID that page
	token   string
	service string // an existing service that writes may hit
	maxBody int
}

func newGen(seed uint64, worker int, rs []route, token, service string) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, uint64(worker))), routes: rs, token: token, service: service, maxBody: 1 << 20}
	for _, r := range rs {
		switch {
		case r.method == "POST" || r.method == "PUT" || r.method == "PATCH" || r.method == "DELETE":
			g.writes = append(g.writes, r)
		case r.method == "GET" && strings.HasPrefix(r.path, "/v1/") && !strings.Contains(r.path, "{") && !streaming(r.path):
			g.lists = append(g.lists, r)
		}
	}
	return g
}

// id fills a route's {id}: mostly garbage, sometimes the existing service
// (never for DELETE, so the flood does not remove what it aims at).
func (g *gen) id(r route) string {
	if r.method != "DELETE" && strings.HasPrefix(r.path, "/v1/services/") && g.rng.IntN(2) == 0 {
		return g.service
	}
	switch g.rng.IntN(5) {
	case 0:
		return "no-such-object"
	case 1:
		return strings.Repeat("a", 1+g.rng.IntN(4000))
	case 2:
		return url.PathEscape(string(g.bytes(1 + g.rng.IntN(40))))
	case 3:
		return "%ff%fe%00"
	}
	return fmt.Sprintf("%016x", g.rng.Uint64())
}

func (g *gen) target(r route) string {
	return strings.ReplaceAll(r.path, "{id}", g.id(r))
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return b
}

func (g *gen) pick(rs []route) route { return rs[g.rng.IntN(len(rs))] }

// next makes one request of a random kind.
func (g *gen) next() request {
	kind := g.rng.IntN(numKinds)
	r := g.pick(g.writes)
	q := request{kind: kind, method: r.method, path: g.target(r), auth: "Bearer " + g.token}
	switch kind {
	case kindRandomBytes:
		q.body = g.bytes(1 + g.rng.IntN(2048))
	case kindTruncated:
		s := sample(r.path)
		q.body = []byte(s[:g.rng.IntN(len(s))])
	case kindNested:
		depth := 1 + g.rng.IntN(100_000)
		open, closing := "[", "]"
		if g.rng.IntN(2) == 0 {
			depth /= 8
			open, closing = `{"spec":`, "}"
		}
		body := strings.Repeat(open, depth)
		if g.rng.IntN(2) == 0 {
			body += "1" + strings.Repeat(closing, depth)
		}
		q.body = []byte(body)
	case kindHugeString:
		size := 1 + g.rng.IntN(100_000)
		if g.rng.IntN(10) == 0 {
			size = g.maxBody - 64 // just under the limit
		}
		huge := strings.Repeat(string(rune('a'+g.rng.IntN(26))), size)
		fields := []string{`{"name":%q}`, `{"name":"x","spec":{"image":%q}}`, `{"spec":{"image":%q}}`,
			`{"labels":{%q:"v"}}`, `{"replicas":%q}`, `{"command":[%q]}`, `{%q:1}`}
		q.body = fmt.Appendf(nil, fields[g.rng.IntN(len(fields))], huge)
	case kindWrongTypes:
		bodies := []string{`{"name":123}`, `{"name":"x","spec":"nginx"}`, `{"spec":{"replicas":"3"}}`, `{"spec":{"replicas":1e400}}`,
			`{"spec":{"env":["A=1"]}}`, `{"spec":{"command":"sleep 60"}}`, `{"replicas":-1}`, `{"replicas":true}`, `{"admin":"yes"}`,
			`{"labels":["a"]}`, `{"labels":{"a":1}}`, `{"command":{}}`, `[]`, `null`, `"x"`, `42`, `{"spec":{"update":{"delay":5}}}`,
			`{"spec":{"healthcheck":{"interval":"forever"}}}`, `{"spec":{"ports":[{"target":"http"}]}}`, `{"rotate":"true"}`,
			`{"spec":null}`, `{"spec":{"running":true}}`, `{"spec":{"replicas":99999999999999999999}}`, `{"revision":"1"}`}
		q.body = []byte(bodies[g.rng.IntN(len(bodies))])
	case kindUnknownField:
		s := sample(r.path)
		name := []string{"bogus", "Spec2", "__proto__", "spec.image", "", "\u00e9t\u00e9"}[g.rng.IntN(6)]
		q.body = fmt.Appendf(nil, `{%q:{"x":[1,2,3]},%s`, name, strings.TrimPrefix(s, "{"))
	case kindOversize:
		if g.rng.IntN(2) == 0 {
			r = route{"POST", "/v1/services"}
			q.method, q.path = r.method, r.path
		}
		over := g.maxBody + 1 + g.rng.IntN(64<<10)
		body := make([]byte, over)
		copy(body, `{"name":"`)
		for i := 9; i < over; i++ {
			body[i] = 'x'
		}
		q.body = body
		if strict(r) {
			q.expect = 413
		}
	case kindBadPath:
		paths := []string{"/v1//services", "/v1/services/a/b/c/d", "/v1/" + strings.Repeat("x", 8000), "/%2e%2e/%2e%2e/etc/passwd",
			"/v1/services/%ff%fe", "/v1/services/x%00y", "/v1/services/..%2f..%2f", "/v1/services/a?b=%zz", "/V1/SERVICES",
			"/v1/services/" + url.PathEscape(string(g.bytes(20))), "/v1/services//scale", "/v2/services", "/v1/nodes/%20/", "//"}
		q.path = paths[g.rng.IntN(len(paths))]
		q.body = []byte(sample(r.path))
	case kindBadQuery:
		l := g.pick(g.lists)
		vals := []string{"-1", "0", "abc", "1e100", "99999999999999999999", "%00", "", "1&limit=2", "%ff", strings.Repeat("9", 5000)}
		q.method = "GET"
		q.path = fmt.Sprintf("%s?limit=%s&cursor=%s", l.path, vals[g.rng.IntN(len(vals))], url.QueryEscape(string(g.bytes(g.rng.IntN(300)))))
		q.body = nil
	case kindBadIfMatch:
		q.method, q.path = "PATCH", "/v1/services/"+g.service
		q.body = []byte(`{"spec":{"replicas":0}}`)
		vals := []string{"abc", "-5", "0", "99999999999999999999999", `W/""`, `"1", "2"`, "1.5", "0x10", `"` + url.QueryEscape(string(g.bytes(8))) + `"`,
			fmt.Sprint(1_000_000_000 + g.rng.IntN(1000))}
		q.ifMatch = vals[g.rng.IntN(len(vals))]
	case kindBadAuth:
		all := g.pick(g.routes)
		q.method, q.path = all.method, g.target(all)
		auths := []string{"", "Bearer ", "Bearer garbage", "Basic YWRtaW46YWRtaW4=", "bearer " + g.token + "x",
			"Bearer " + strings.Repeat("A", 4000), "Bearer " + url.QueryEscape(string(g.bytes(30))), g.token}
		q.auth = auths[g.rng.IntN(len(auths))]
		if !public(all.path) {
			q.expect = 401
		}
		if !streaming(all.path) {
			q.body = []byte(sample(all.path))
		}
	case kindBadMethod:
		all := g.pick(g.routes)
		q.path = g.target(all)
		q.method = []string{"PUT", "TRACE", "OPTIONS", "FOO", "PROPFIND", "PATCH", "DELETE", "POST"}[g.rng.IntN(8)]
		q.body = g.bytes(g.rng.IntN(64))
		if q.method == all.method || q.method == "DELETE" && strings.Contains(q.path, g.service) {
			q.method = "TRACE"
		}
	}
	if len(q.body) == 0 && q.method != "GET" && q.method != "HEAD" {
		// An empty body is a valid request to routes with optional
		// bodies (POST /v1/join-tokens makes a token): keep it malformed.
		q.body = []byte("{")
	}
	return q
}
