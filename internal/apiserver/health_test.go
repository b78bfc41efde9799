package apiserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

func TestHealthVersionMetricsCA(t *testing.T) {
	var notReady atomic.Bool
	e := newEnv(t, func(s *Server) {
		s.cfg.Ready = func(context.Context) error {
			if notReady.Load() {
				return errors.New("etcd has no leader")
			}
			return nil
		}
	})
	if code, b := e.do("GET", "/livez", "", ""); code != 200 || string(b) != "ok\n" {
		t.Fatalf("livez: %d %q", code, b)
	}
	if code, b := e.do("GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("readyz: %d %q", code, b)
	}
	notReady.Store(true)
	code, b := e.do("GET", "/readyz", "", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(errDetail(t, b).Message, "etcd has no leader") {
		t.Fatalf("readyz not ready: %d %s", code, b)
	}
	var v api.Version
	e.call("GET", "/version", "", 200, &v)
	if v.Version != "v-test" {
		t.Fatalf("version: %+v", v)
	}
	if code, b := e.do("GET", "/v1/ca", "", ""); code != 200 || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Fatalf("ca: %d %s", code, b)
	}
	e.do("GET", "/v1/services", e.admin, "")
	code, b = e.do("GET", "/metrics", "", "")
	if code != 200 || !strings.Contains(string(b), `wharf_http_requests_total{code="200",method="GET",route="/v1/services"} 1`) ||
		!strings.Contains(string(b), `wharf_http_request_duration_seconds_bucket{code="200",method="GET",route="/v1/services",le="0.1"}`) {
		t.Fatalf("metrics: %d %s", code, b)
	}
}

func TestJoinTokensAndJoin(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.cfg.AgentCommand = func(tok string) string { return "wharf agent --token " + tok } })
	var first, second api.JoinTokenCreated
	e.call("POST", "/v1/join-tokens", "", http.StatusCreated, &first)
	if !strings.HasPrefix(first.Token, "WHARF-1-0123abcd-") || first.Command != "wharf-agent join "+first.Token ||
		first.AgentCommand != "wharf agent --token "+first.Token {
		t.Fatalf("join token: %+v", first)
	}
	e.call("POST", "/v1/join-tokens", `{"rotate":false}`, http.StatusCreated, nil)
	e.call("POST", "/v1/join-tokens", `{"rotate":true}`, http.StatusCreated, &second)
	jts, _, err := store.ListAll[records.JoinToken](t.Context(), e.st, store.KindJoinTokens)
	if err != nil || len(jts) != 1 {
		t.Fatalf("join tokens after rotate: %+v %v", jts, err)
	}
	h := pki.HashSecret(second.Token[strings.LastIndexByte(second.Token, '-')+1:])
	if jts[0].ID != h[:16] || jts[0].Hash != h {
		t.Fatalf("stored join token %+v, want hash %s", jts[0], h)
	}

	var resp api.JoinResponse
	code, b := e.do("POST", "/v1/join", "", `{"token":"WHARF-1-good","csr":"x","hostname":"h1"}`)
	if code != 200 {
		t.Fatalf("join: %d %s", code, b)
	}
	_ = resp
	if code, b := e.do("POST", "/v1/join", "", `{"token":"WHARF-1-bad","hostname":"h2"}`); code != 401 {
		t.Fatalf("bad join: %d %s", code, b)
	}
	var l api.List[api.Action]
	e.call("GET", "/v1/actions", "", 200, &l)
	var joins []string
	for _, a := range l.Items {
		if a.Who == "join" {
			joins = append(joins, a.Object+" "+a.Result)
		}
	}
	if strings.Join(joins, ",") != "node-h1 Success, Failed" {
		t.Fatalf("join actions: %q", joins)
	}
}
