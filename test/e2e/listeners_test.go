package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestNoListenerServesAnotherLocalUser is issue 10's raft poke against the
// real binary: user nobody finds every listener of a running `wharf
// server` and speaks to it. The embedded etcd's sockets are files in the
// 0700 data dir (connect: permission denied), the agent gateway wants a
// client certificate, so does the Docker endpoint (--docker-addr), and the
// API, public by design, asks for a token. Nothing else listens.
func TestNoListenerServesAnotherLocalUser(t *testing.T) {
	if !hostile.CanRunAsNobody() {
		t.Skip("needs root to run the probe as nobody")
	}
	dockerAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := testserver.Start(t, testserver.Options{Args: []string{"--docker-addr", dockerAddr}})
	ls, err := hostile.Listeners(s.Pid())
	if err != nil {
		t.Fatal(err)
	}
	got, err := hostile.ProbeAsNobody(context.Background(), ls)
	if err != nil {
		t.Fatal(err)
	}
	unix := 0
	for _, a := range got {
		t.Log(a)
		l := a.Listener
		switch {
		case l.Abstract():
			t.Errorf("%s is an abstract unix socket, which any local user can reach", l)
		case l.Network == "unix":
			unix++
			if !strings.HasPrefix(l.Addr, s.DataDir+"/") || !a.Refused() {
				t.Errorf("%s: want a socket file in the data dir that nobody cannot connect to, got %s", l, a)
			}
		case l.Addr == s.AgentAddr:
			if !a.Refused() {
				t.Errorf("the agent gateway answered without a client certificate: %s", a)
			}
		case l.Addr == dockerAddr:
			if !a.Refused() {
				t.Errorf("the Docker endpoint answered without a client certificate: %s", a)
			}
		case l.Addr == s.Addr:
			if !strings.Contains(a.Answer, " 401 ") {
				t.Errorf("the API answered a request without a token with %q, not 401", a.Answer)
			}
		default:
			t.Errorf("unexpected listener %s (%s)", l, a)
		}
	}
	if unix != 2 {
		t.Errorf("found %d unix listeners; want etcd's peer and client sockets", unix)
	}
}
