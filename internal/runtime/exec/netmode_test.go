package exec

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// TestNetworkModeNone: a run in network mode none has a network namespace
// with lo alone: its PORT is not on the host's loopback, and commands
// exec'd into it see lo only.
func TestNetworkModeNone(t *testing.T) {
	needNetAdmin(t)
	d := newDriver(t, t.TempDir())
	s := runtime.Spec{ID: "none-a", Name: "none-a", Service: "svc", Slot: 1, Node: "n1", Command: []string{testExe(t)},
		Env: map[string]string{helperEnv: "serve-net", fixedPortEnv: "8080"}, NetworkMode: "none"}
	st := start(t, d, s)
	waitLogs(t, d, s.ID, func(out string) bool { return strings.Contains(out, "listening\n") })
	ifaces := execOut(t, d, s.ID, testExe(t), "-wharf-ifaces")
	if ifaceFields(ifaces, "lo") == nil || strings.Count(ifaces, "\n") != 1 {
		t.Errorf("the run has interfaces\n%s\nwant lo only", ifaces)
	}
	// It listens on PORT in its own namespace: the host's is not it.
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.HostPort)), time.Second); err == nil {
		conn.Close()
		t.Errorf("the host reached the run's PORT %d on its own loopback", st.HostPort)
	}
	if err := d.Remove(ctx10(t), s.ID); err != nil {
		t.Fatal(err)
	}
}

func TestCheckNetworkMode(t *testing.T) {
	for _, mode := range []string{"", "bridge", "host", "none"} {
		if err := checkNetworkMode(runtime.Spec{NetworkMode: mode}); err != nil {
			t.Errorf("mode %q: %v", mode, err)
		}
	}
	if err := checkNetworkMode(runtime.Spec{NetworkMode: "container:x"}); err == nil || !strings.Contains(err.Error(), "unknown network mode") {
		t.Errorf("an unknown mode: %v", err)
	}
	if err := checkNetworkMode(runtime.Spec{NetworkMode: "none", Networks: []runtime.Attachment{{Network: "n"}}}); err == nil {
		t.Error("none with networks: accepted")
	}
	if !ownNetwork(runtime.Spec{NetworkMode: "none"}) || ownNetwork(runtime.Spec{NetworkMode: "host"}) || ownNetwork(runtime.Spec{}) {
		t.Error("ownNetwork: only none and networks get a namespace of their own")
	}
}
