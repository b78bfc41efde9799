package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServicesPage1000 renders the services page of an organization
// with 1,000 services on the server: the session's authentication, the
// domain layer's reads from etcd, the sorting and the template (the
// issue's target is under 200 ms a page).
func BenchmarkServicesPage1000(b *testing.B) {
	e := newEnv(b)
	for i := range 1000 {
		e.service(fmt.Sprintf("svc-%04d", i), 1+i%3)
	}
	br := e.signedIn(e.admin)
	cookies := br.jar.Cookies(mustURL(e.srv.URL + "/ui/"))
	req := httptest.NewRequest("GET", "/ui/services", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "1000 of 1000 services") {
			b.Fatalf("services page: %d", w.Code)
		}
	}
}
