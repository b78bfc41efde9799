package testcluster

import (
	"testing"

	"github.com/wharfhq/wharf/internal/testserver"
)

// FreePort finds a free loopback TCP port in 10000-19999 for a test server
// to listen on later; see testserver.FreePort.
func FreePort(tb testing.TB) int {
	tb.Helper()
	return testserver.FreePort(tb)
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	return testserver.FreeAddr(tb)
}
