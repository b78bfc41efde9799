package exec

import (
	"fmt"
	"testing"
)

// TestPortReservedAcrossAgents: a port one agent has handed out is not
// handed out by another agent on the same host, even before the workload
// binds it, and it is free again once the reservation ends.
func TestPortReservedAcrossAgents(t *testing.T) {
	port, lock, err := freePort(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := claimPort(port, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other != nil {
		other.Close()
		t.Fatalf("port %d was claimed twice while reserved", port)
	}
	lock.Close()
	again, err := claimPort(port, nil)
	if err != nil || again == nil {
		t.Fatalf("port %d after its reservation ended: lock %v, err %v; want it free", port, again, err)
	}
	again.Close()
}

// TestTwoDriversNeverSharePorts starts containers that do not bind their
// port on two drivers at once, as two agents of one host would: no port is
// given twice while they run, and an exit frees the reservation.
func TestTwoDriversNeverSharePorts(t *testing.T) {
	a, b := newDriver(t, t.TempDir()), newDriver(t, t.TempDir())
	seen := map[int]string{}
	for i := range 30 {
		for name, d := range map[string]*Driver{"a": a, "b": b} {
			id := fmt.Sprintf("%s%d", name, i)
			st := start(t, d, shSpec(id, "sleep 30"))
			if prev, dup := seen[st.HostPort]; dup {
				t.Fatalf("port %d given to %s and %s", st.HostPort, prev, id)
			}
			seen[st.HostPort] = id
		}
	}
	st, err := a.Inspect(ctx10(t), "a0")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(ctx10(t), "a0", 0); err != nil {
		t.Fatal(err)
	}
	lock, err := claimPort(st.HostPort, nil)
	if err != nil || lock == nil {
		t.Fatalf("port %d of a stopped container: lock %v, err %v; want it free", st.HostPort, lock, err)
	}
	lock.Close()
}
