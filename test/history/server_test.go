package history

import (
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testserver"
)

// server is the `wharf server` process under test and the HTTP client its
// clients share: 5 s per request, so a call cut off by a kill ends soon.
type server struct {
	*testserver.Server
	hc *http.Client
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := testserver.Start(t, testserver.Options{})
	return &server{Server: s, hc: s.NewHTTP(5*time.Second, 16)}
}
