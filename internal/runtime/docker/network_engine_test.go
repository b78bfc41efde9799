package docker

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/moby/moby/client"

	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestNetworkPrivateEngine: on an engine of its own (no iptables rules, as
// an agent's engine may be), a container gets its address on a bridge the
// overlay made first and on one Docker makes, and its published port.
func TestNetworkPrivateEngine(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	hostCli := dockertest.Require(t)
	requireRoot(t)
	engine := dockertest.StartEngine(t)
	cli, err := client.New(client.WithHost(engine))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	copyImage(t, hostCli, cli, image)

	pre := "wxq" + randHex(4)
	atts := []wrt.Attachment{
		attachment("t"+randHex(4), pre, freeSubnet(t, hostCli), 40),
		attachment("t"+randHex(4), "wxr"+randHex(4), freeSubnet(t, hostCli), 41),
	}
	ipCmd(t, "link", "add", pre, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", pre).Run() })
	ipCmd(t, "addr", "add", netip.PrefixFrom(atts[0].Gateway, atts[0].Address.Bits()).String(), "dev", pre)
	ipCmd(t, "link", "set", pre, "up")

	d, err := New(t.Context(), Options{Host: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetNode("netpriv")
	// Before the engine stops: its containers, then its networks (an
	// engine stopped with a network leaves the bridge it made).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i, a := range atts {
			_ = d.Remove(ctx, fmt.Sprintf("priv%d", i))
			if _, err := cli.NetworkRemove(ctx, networkName(a.Network), client.NetworkRemoveOptions{}); err != nil && !cerrNotFound(err) {
				t.Errorf("cleanup: remove network %s: %v", networkName(a.Network), err)
			}
		}
		_ = exec.Command("ip", "link", "del", atts[1].Bridge).Run() // in case
	})
	for i, a := range atts {
		s := spec(image, fmt.Sprintf("priv%d", i))
		s.Networks = []wrt.Attachment{a}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // vfs is slow
		st, err := d.Start(ctx, s)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		checkEndpoint(t, cli, st.DriverID, a)
		httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")
		httpGet(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", st.HostPort))
	}
}

// copyImage copies image from engine src to engine dst.
func copyImage(t *testing.T, src, dst *client.Client, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	saved, err := src.ImageSave(ctx, []string{image})
	if err != nil {
		t.Fatal(err)
	}
	defer saved.Close()
	loaded, err := dst.ImageLoad(ctx, saved)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if _, err := io.Copy(io.Discard, loaded); err != nil {
		t.Fatal(err)
	}
}
