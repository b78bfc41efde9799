package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// baseSpec is a spec validateSpec accepts, for fuzz targets to vary.
func baseSpec() api.ServiceSpec {
	return api.ServiceSpec{Command: []string{"sleep", "60"}, Driver: "fake", Replicas: 1}
}

// FuzzValidateSpec decodes arbitrary JSON into a ServiceSpec and validates
// it: never a panic; a rejection is a FieldError whose field is under
// "spec"; an accepted spec survives a JSON round trip unchanged and is
// still accepted.
func FuzzValidateSpec(f *testing.F) {
	for _, seed := range []string{
		`{"command":["sleep","60"],"driver":"fake","replicas":3}`,
		`{"image":"nginx:1.27","replicas":2,"ports":[{"target":80}],"env":{"A":"1"},"tags":["ssd","zone=a"],"strategy":"EMPTIEST_NODE"}`,
		`{"image":"nginx","healthcheck":{"http":"/healthz","interval":"5s","timeout":"1s","retries":2},"ports":[{"target":80}]}`,
		`{"command":["srv"],"update":{"parallelism":2,"delay":"10s","order":"start-first","monitor":"5s","failure_action":"pause","max_failure_ratio":0.5}}`,
		`{"command":["srv"],"constraints":["node.labels.zone == a"],"affinities":["zone=b"],"autorestart":"ALWAYS","links":["db:database"]}`,
		`{"command":["srv"],"healthcheck":{"command":["true"],"interval":"-1s"}}`,
		`{"command":["srv"],"replicas":-1}`, `{"image":"a b"}`, `{"command":[""]}`, `{"command":["x"],"env":{"A=B":"1"}}`,
		`{"command":["x"],"update":{"delay":"forever"}}`, `{"command":["x"],"autodestroy":"ALWAYS","autorestart":"ALWAYS"}`,
		`{"image":"x","ports":[{"container_port":80},{"container_port":5432,"host_port":15432,"mode":"ingress"}],"routes":[{"host":"a.io","path":"/api"},{"protocol":"https","host":"*.a.io","port":80}],"route_options":{"balance":"source","cookie":"S","http_check":"GET /h","drain_ms":500}}`,
		`{"command":["x"],"env":{"VIRTUAL_HOST":"b.io, https://c.io:443/x/*, *","TCP_PORTS":"22","BALANCE":"leastconn","HTTP_CHECK":"OPTIONS * HTTP/1.1\\r\\nHost: www","COOKIE":"SRV insert"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec api.ServiceSpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		if err := validateSpec(&spec); err != nil {
			var fe *errdefs.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "spec") || fe.Message == "" {
				t.Fatalf("validateSpec(%s): %v, want a FieldError on a spec field", data, err)
			}
			return
		}
		first, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("marshal an accepted spec: %v", err)
		}
		var again api.ServiceSpec
		if err := json.Unmarshal(first, &again); err != nil {
			t.Fatalf("decode %s: %v", first, err)
		}
		if err := validateSpec(&again); err != nil {
			t.Fatalf("accepted %s, but not after a round trip (%s): %v", data, first, err)
		}
		second, _ := json.Marshal(again)
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the spec:\n%s\n%s", first, second)
		}
	})
}
