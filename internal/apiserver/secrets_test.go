package apiserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// withSecrets gives the server a domain that can seal secrets.
func withSecrets(t *testing.T) func(*Server) {
	return func(s *Server) {
		kek, err := seal.NewKEK()
		if err != nil {
			t.Fatal(err)
		}
		_, sl, err := seal.CreateKeyring(context.Background(), s.st, kek, false)
		if err != nil {
			t.Fatal(err)
		}
		// The config too: a harness that builds the domain layer over the
		// tuned config keeps the sealer.
		s.cfg.Sealer = sl
		d, err := domain.New(domain.Config{Store: s.st, Sealer: sl})
		if err != nil {
			t.Fatal(err)
		}
		s.d = d
	}
}

// TestSecretValueIsNeverShown: a secret's value appears in no API answer,
// no event and no action, whoever asks; a read-only token sees the
// metadata and cannot write; a service may use only a secret that exists.
func TestSecretValueIsNeverShown(t *testing.T) {
	e := newEnv(t, withSecrets(t))
	const value = "api-CANARY-value-93c1d7"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"viewer"}`, http.StatusCreated, &ro)
	var answers [][]byte
	keep := func(code int, b []byte) []byte {
		answers = append(answers, b)
		return b
	}

	code, b := e.do("POST", "/v1/secrets", ro.Secret, `{"name":"db_password","data":"`+b64+`"}`)
	keep(code, b)
	if code != http.StatusForbidden {
		t.Fatalf("read-only create: %d %s", code, b)
	}
	var sec api.Secret
	e.call("POST", "/v1/secrets", `{"name":"db_password","data":"`+b64+`"}`, http.StatusCreated, &sec)
	if sec.Size != len(value) || sec.Version != 1 {
		t.Fatalf("created %+v", sec)
	}
	for _, p := range []string{"/v1/secrets", "/v1/secrets/db_password", "/v1/secrets/" + sec.ID} {
		code, b := e.do("GET", p, ro.Secret, "")
		keep(code, b)
		if code != http.StatusOK || !strings.Contains(string(b), "db_password") {
			t.Fatalf("read-only GET %s: %d %s", p, code, b)
		}
		keep(e.do("GET", p, e.admin, ""))
	}
	code, b = e.do("DELETE", "/v1/secrets/db_password", ro.Secret, "")
	keep(code, b)
	if code != http.StatusForbidden {
		t.Fatalf("read-only delete: %d %s", code, b)
	}
	// Bad requests do not quote the value back either.
	keep(e.do("POST", "/v1/secrets", e.admin, `{"name":"x","data":"`+value+`"}`))
	keep(e.do("POST", "/v1/secrets", e.admin, `{"name":"x","data":`+value+`}`))
	keep(e.do("POST", "/v1/secrets", e.admin, `{"name":"db_password","data":"`+b64+`"}`))

	// A service may use an existing secret only.
	code, b = e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"command":["x"],"secrets":[{"source":"nope"}]}}`)
	keep(code, b)
	if code != http.StatusBadRequest || errDetail(t, b).Field != "spec.secrets[0].source" {
		t.Fatalf("service with a missing secret: %d %s", code, b)
	}
	code, b = e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"command":["x"],"secrets":[{"source":"db_password","target":"../x"}]}}`)
	keep(code, b)
	if code != http.StatusBadRequest {
		t.Fatalf("service with a bad target: %d %s", code, b)
	}
	var svc api.Service
	e.call("POST", "/v1/services", `{"name":"web","spec":{"command":["x"],"secrets":[{"source":"db_password","target":"pw"}]}}`, http.StatusCreated, &svc)
	keep(e.do("GET", "/v1/services/web", e.admin, ""))

	// An update rolls the service; the update's answer has no value.
	var up api.Secret
	e.call("PUT", "/v1/secrets/db_password", `{"data":"`+base64.StdEncoding.EncodeToString([]byte(value+"2"))+`"}`, http.StatusOK, &up)
	if up.Version != 2 {
		t.Fatalf("updated %+v", up)
	}
	var rolled api.Service
	e.call("GET", "/v1/services/web", "", http.StatusOK, &rolled)
	if rolled.RestartGeneration <= svc.RestartGeneration {
		t.Errorf("the service was not rolled: generation %d", rolled.RestartGeneration)
	}
	code, b = e.do("DELETE", "/v1/secrets/db_password", e.admin, "")
	keep(code, b)
	if code != http.StatusConflict || !strings.Contains(string(b), "web") {
		t.Fatalf("delete of a used secret: %d %s", code, b)
	}
	keep(e.do("GET", "/v1/events?since=0", e.admin, ""))
	keep(e.do("GET", "/v1/actions", e.admin, ""))

	for _, b := range answers {
		for _, needle := range []string{value, b64} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("an answer carries the value: %s", b)
			}
		}
	}
	// And the store's events and actions, read directly.
	for _, kind := range []string{store.KindEvents, store.KindActions, store.KindServices, store.KindSecrets} {
		res, err := e.st.List(context.Background(), kind, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) == 0 && kind != store.KindEvents {
			t.Errorf("no %s stored", kind)
		}
		for _, it := range res.Items {
			if bytes.Contains(it.Value, []byte(value)) || bytes.Contains(it.Value, []byte(b64)) {
				t.Errorf("%s/%s carries the value: %s", kind, it.ID, it.Value)
			}
		}
	}
}
