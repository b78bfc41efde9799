package testserver

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreePort finds a free loopback TCP port for a test server to listen on
// later. It draws from 10000-19999, below both the kernel's ephemeral ports
// (which outgoing connections take at any moment) and the range the exec
// driver hands to workloads, so the port stays free until the server binds
// it; asking the kernel for port 0 and releasing it would race with both.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 200 {
		port := 10000 + rand.IntN(10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return port
	}
	tb.Fatal("no free port in 10000-19999")
	return 0
}

// FreeAddr is 127.0.0.1 with a FreePort.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(tb)))
}
