package hostile

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:1F91":                         "127.0.0.1:8081", // wildcard: reached on loopback
		"00000000000000000000000001000000:0050": "[::1]:80",
	} {
		if got, err := procAddr(in); err != nil || got != want {
			t.Errorf("procAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "7F", "zz:00", "0100007F:zz"} {
		if _, err := procAddr(bad); err == nil {
			t.Errorf("procAddr(%q) succeeded", bad)
		}
	}
}

// TestListenersFindsThisProcesssSockets: a TCP listener, a unix socket
// file and an abstract socket of this process are all found.
func TestListenersFindsThisProcesssSockets(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tcp.Close() }()
	path := filepath.Join(t.TempDir(), "s.sock")
	file, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = file.Close() }()
	abstract, err := net.Listen("unix", "@wharf-hostile-test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = abstract.Close() }()
	ls, err := Listeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want := map[Listener]bool{{"tcp", tcp.Addr().String()}: false, {"unix", path}: false, {"unix", "@wharf-hostile-test"}: false}
	for _, l := range ls {
		if _, ok := want[l]; ok {
			want[l] = true
		}
	}
	for l, found := range want {
		if !found {
			t.Errorf("%s not found in %v", l, ls)
		}
	}
	if !(Listener{"unix", "@x"}).Abstract() || (Listener{"unix", path}).Abstract() {
		t.Error("Abstract")
	}
}
