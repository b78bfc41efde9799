package apiserver

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestCreateServiceBadConstraint(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/services", e.admin, `{"name":"a","spec":{"image":"nginx","constraints":["zone=a"]}}`)
	d := errDetail(t, body)
	if status != 400 || d.Code != api.CodeInvalid || d.Field != "spec.constraints[0]" || !strings.Contains(d.Message, `constraint "zone=a"`) {
		t.Fatalf("status %d, error %+v", status, d)
	}
}
