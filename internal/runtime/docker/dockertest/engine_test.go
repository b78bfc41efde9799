package dockertest

import (
	"net"
	"testing"

	"github.com/moby/moby/client"
)

// TestStartEngine: a private engine answers, has an image store of its
// own (the host engine's images are not in it), and leaves the host
// engine's bridge alone when it starts and stops (a dockerd started with
// "bridge": "none" deletes docker0, breaking every other test).
func TestStartEngine(t *testing.T) {
	_, hostBridge := net.InterfaceByName("docker0")
	t.Run("engine", func(t *testing.T) {
		host := StartEngine(t)
		cli, err := client.New(client.WithHost(host))
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
	})
	if _, err := net.InterfaceByName("docker0"); hostBridge == nil && err != nil {
		t.Fatalf("the host engine's docker0 is gone after a private engine ran: %v", err)
	}
}
