// Package bench measures Wharf's API under concurrent clients beside etcd's
// own write rate on the same machine, in the same run. Run it with
// `make bench`; figures are reported, never asserted.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testcluster"
)

const clients = 50

// run makes total calls of op from 50 goroutines and returns the sorted
// latencies and the wall time.
func run(total int, op func(i int) error) ([]time.Duration, time.Duration, error) {
	return runWith(clients, total, op)
}

// runWith is run from n goroutines.
func runWith(n, total int, op func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, total)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if e, _ := firstErr.Load().(error); e != nil {
		return lat, wall, e
	}
	return lat, wall, nil
}

func report(b *testing.B, name string, lat []time.Duration, wall time.Duration) {
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), name+"_p50_ms")
	b.ReportMetric(p(0.99), name+"_p99_ms")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), name+"_per_s")
	b.Logf("%-10s n=%d p50=%.2fms p99=%.2fms rate=%.0f/s", name, len(lat), p(0.5), p(0.99), float64(len(lat))/wall.Seconds())
}

// BenchmarkAPI: GET one object, LIST 1,000 and POST, 50 concurrent clients,
// and LIST 1,000 again from 4. Each phase reports the clients' latencies
// and the server's own (its request duration histogram on /metrics, read
// before and after the phase): the clients share the server's two cores,
// so their clock also counts the time they wait for a core.
func BenchmarkAPI(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{})
	ctx := context.Background()
	// 1,000 services to list (replicas 0: nothing to place).
	_, _, err := run(1000, func(i int) error {
		_, err := c.Client.CreateService(ctx, fmt.Sprintf("s%04d", i), api.ServiceSpec{Command: []string{"true"}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	one, err := c.Client.Service(ctx, "s0500")
	if err != nil {
		b.Fatal(err)
	}
	// phase runs total calls of op from n clients and reports both clocks
	// for the server's series s.
	phase := func(name string, n, total int, s series, op func(int) error) {
		before := scrape(b, c, s)
		lat, wall, err := runWith(n, total, op)
		if err != nil {
			b.Fatal(err)
		}
		after := scrape(b, c, s)
		report(b, name, lat, wall)
		reportServer(b, name, before, after)
	}
	list := func(int) error {
		// Items stay raw: the client shares the server's two cores, and
		// this measures the server, not the client's decoding.
		var page api.List[json.RawMessage]
		if err := c.Client.Do(ctx, http.MethodGet, "/v1/services?limit=1000", nil, &page); err != nil {
			return err
		}
		if len(page.Items) < 1000 {
			return fmt.Errorf("listed %d", len(page.Items))
		}
		return nil
	}
	b.ResetTimer()
	for range b.N {
		phase("get", clients, 10000, series{"GET", "/v1/services/{id}", "200"}, func(int) error {
			var s api.Service
			return c.Client.Do(ctx, http.MethodGet, "/v1/services/"+one.ID, nil, &s)
		})
		phase("list1000", clients, 500, series{"GET", "/v1/services", "200"}, list)
		phase("list1000_4c", 4, 200, series{"GET", "/v1/services", "200"}, list)
		var seq atomic.Int64
		phase("post", clients, 3000, series{"POST", "/v1/services", "201"}, func(int) error {
			_, err := c.Client.CreateService(ctx, fmt.Sprintf("p%d-%d", b.N, seq.Add(1)), api.ServiceSpec{Command: []string{"true"}})
			return err
		})
	}
}

// BenchmarkEtcdWrites is the reference: raw 256-byte puts to an embedded
// etcd on this machine, one at a time and from 50 clients, through the
// in-process client the server uses and through gRPC on a unix socket.
func BenchmarkEtcdWrites(b *testing.B) {
	e, err := store.StartEmbedded(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	grpc, err := store.Connect(ctx, store.External{Endpoints: []string{e.ClientURL()}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = grpc.Close() }()
	val := string(make([]byte, 256))
	b.ResetTimer()
	for range b.N {
		for _, via := range []struct {
			name string
			cli  *clientv3.Client
		}{{"etcd_inproc", e.Client}, {"etcd_grpc", grpc}} {
			var serial []time.Duration
			start := time.Now()
			for i := 0; i < 1000; i++ {
				t0 := time.Now()
				if _, err := via.cli.Put(ctx, fmt.Sprintf("/bench/%s/serial/%d", via.name, i), val); err != nil {
					b.Fatal(err)
				}
				serial = append(serial, time.Since(t0))
			}
			wall := time.Since(start)
			sort.Slice(serial, func(a, b int) bool { return serial[a] < serial[b] })
			report(b, via.name+"_serial", serial, wall)
			lat, wall, err := run(20000, func(i int) error {
				_, err := via.cli.Put(ctx, fmt.Sprintf("/bench/%s/conc/%d", via.name, i), val)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			report(b, via.name+"_conc50", lat, wall)
		}
	}
}
