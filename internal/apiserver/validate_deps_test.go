package apiserver

import (
	"strings"
	"testing"
)

func TestCreateServiceBadDependsOn(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"image":"nginx","depends_on":[{"service":"db"}]}}`)
	d := errDetail(t, body)
	if status != 400 || d.Field != "spec.depends_on[0].condition" || !strings.Contains(d.Message, "service_healthy") {
		t.Fatalf("%d %s", status, body)
	}
}
