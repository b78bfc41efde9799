// Package etcdtest runs a real etcd cluster of several members inside a
// test process, on loopback ports, so that a test can stop members and see
// what the rest of Wharf does when etcd loses its quorum and its leader.
// Only tests import it.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running etcd cluster.
type Cluster struct {
	tb         testing.TB
	members    []*embed.Etcd
	clientURLs []string
	stopOnce   []sync.Once
}

// Start runs an n-member cluster on free loopback ports (member i serves
// clients on ports[2i] and peers on ports[2i+1]) and waits until it has a
// leader. It is stopped when the test ends.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	dir := tb.TempDir()
	c := &Cluster{tb: tb, stopOnce: make([]sync.Once, n)}
	ports := freePorts(tb, 2*n)
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	cfgs := make([]*embed.Config, n)
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		client, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
		peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]))
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "etcdtest"
		cfgs[i] = cfg
		c.clientURLs = append(c.clientURLs, client.String())
	}
	// Every member must be up before any can elect a leader.
	errs := make([]error, n)
	c.members = make([]*embed.Etcd, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.members[i], errs[i] = embed.StartEtcd(cfgs[i]) })
	}
	wg.Wait()
	tb.Cleanup(func() {
		for i := range c.members {
			c.Stop(i)
		}
	})
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("etcd member %d: %v", i, err)
		}
	}
	for i, m := range c.members {
		select {
		case <-m.Server.ReadyNotify():
		case <-time.After(60 * time.Second):
			tb.Fatalf("etcd member %d not ready in 60s", i)
		}
	}
	return c
}

// Stop stops member i (again: nothing).
func (c *Cluster) Stop(i int) {
	c.stopOnce[i].Do(func() {
		if c.members[i] != nil {
			c.members[i].Close()
		}
	})
}

// Client is a client of member i only, closed when the test ends.
func (c *Cluster) Client(i int) *clientv3.Client {
	c.tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.clientURLs[i]}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { _ = cli.Close() })
	return cli
}

// freePorts finds n loopback ports that are free now, holding them all
// open at once so that no two are the same, then gives them back for etcd
// to take.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
