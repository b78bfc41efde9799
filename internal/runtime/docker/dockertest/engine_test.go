package dockertest

import (
	"testing"

	"github.com/moby/moby/client"
)

// TestStartEngine: a private engine answers, has an image store of its
// own (the host engine's images are not in it) and is gone after the test.
func TestStartEngine(t *testing.T) {
	host := StartEngine(t)
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	HelloImage(t) // on the host's engine
	if _, err := cli.ImageInspect(t.Context(), HelloTag); err == nil {
		t.Fatalf("the private engine has %s: it shares the host engine's image store", HelloTag)
	}
	info, err := cli.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Info.Driver != "vfs" {
		t.Fatalf("storage driver %q, want vfs", info.Info.Driver)
	}
}
