package apiserver

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestCreateServiceVolumesOnExec(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/services", e.admin,
		`{"name":"a","spec":{"command":["sleep","9"],"volumes":[{"type":"volume","source":"data","target":"/data"}]}}`)
	d := errDetail(t, body)
	if status != 400 || d.Code != api.CodeInvalid || d.Field != "spec.volumes" || !strings.Contains(d.Message, "exec driver cannot mount volumes") {
		t.Fatalf("status %d, error %+v", status, d)
	}
	status, body = e.do("POST", "/v1/services", e.admin,
		`{"name":"b","spec":{"image":"nginx","volumes":[{"type":"volume","source":"data","target":"/data"}],"labels":{"team":"x"}}}`)
	if status != 201 {
		t.Fatalf("create with a named volume: status %d, body %s", status, body)
	}
}
