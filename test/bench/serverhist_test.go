package bench

// The server's own latency histogram (wharf_http_request_duration_seconds
// on /metrics), read before and after a phase so the phase's server-side
// percentiles print beside the clients' own.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/testcluster"
)

// histogram is one series' cumulative bucket counts by upper bound
// (+Inf included).
type histogram map[float64]float64

// series names one series of the server's request duration histogram.
type series struct{ method, route, code string }

// scrape reads series s of the server's request duration histogram.
func scrape(b *testing.B, c *testcluster.Cluster, s series) histogram {
	b.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAPEM) {
		b.Fatal("cluster CA: no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(c.URL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /metrics: %s", resp.Status)
	}
	h, err := parseHistogram(bufio.NewScanner(resp.Body), s)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// parseHistogram reads series s's buckets from the Prometheus text format.
func parseHistogram(sc *bufio.Scanner, s series) (histogram, error) {
	const name = "wharf_http_request_duration_seconds_bucket{"
	h := histogram{}
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(name):], "} ")
		if !ok {
			return nil, fmt.Errorf("/metrics: cannot read %q", line)
		}
		ls := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			ls[k] = strings.Trim(v, `"`)
		}
		if ls["method"] != s.method || ls["route"] != s.route || ls["code"] != s.code {
			continue
		}
		le, err := strconv.ParseFloat(ls["le"], 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: bucket %q: %w", line, err)
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: bucket %q: %w", line, err)
		}
		h[le] = n
	}
	return h, sc.Err()
}

// quantile is the q-quantile, in milliseconds, of the requests counted in
// after but not in before, interpolated linearly within its bucket (the
// way Prometheus's histogram_quantile does), and how many requests that
// is. A quantile in the +Inf bucket is the largest finite bound.
func quantile(before, after histogram, q float64) (ms, n float64) {
	var les []float64
	for le := range after {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return 0, 0
	}
	total := after[math.Inf(1)] - before[math.Inf(1)]
	if total <= 0 {
		return 0, 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range les {
		cum := after[le] - before[le]
		if cum >= rank {
			if math.IsInf(le, 1) {
				return lower * 1000, total
			}
			if cum == below {
				return le * 1000, total
			}
			return (lower + (le-lower)*(rank-below)/(cum-below)) * 1000, total
		}
		lower, below = le, cum
	}
	return lower * 1000, total
}

// reportServer reports the server's p50 and p99 of series s over a phase,
// from its histogram before and after the phase.
func reportServer(b *testing.B, name string, before, after histogram) {
	p50, n := quantile(before, after, 0.5)
	p99, _ := quantile(before, after, 0.99)
	b.ReportMetric(p50, name+"_server_p50_ms")
	b.ReportMetric(p99, name+"_server_p99_ms")
	b.Logf("%-10s n=%.0f server p50=%.2fms p99=%.2fms (from the server's histogram)", name, n, p50, p99)
}

func TestQuantileFromBuckets(t *testing.T) {
	inf := math.Inf(1)
	before := histogram{0.01: 5, 0.02: 5, 0.05: 5, inf: 5}
	// 100 more requests: 10 up to 10 ms, 40 in (10, 20] ms, 50 in (20, 50] ms.
	after := histogram{0.01: 15, 0.02: 55, 0.05: 105, inf: 105}
	for _, c := range []struct{ q, want float64 }{
		{0.05, 5},    // within the first bucket, from 0
		{0.5, 20},    // the top of the second bucket
		{0.3, 15},    // halfway through the second
		{0.99, 49.4}, // 49 of the third bucket's 50
	} {
		got, n := quantile(before, after, c.q)
		if n != 100 || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%.2f = %v ms of %v, want %v of 100", c.q, got, n, c.want)
		}
	}
	// Past the last finite bound: that bound.
	if got, _ := quantile(histogram{0.1: 0, inf: 0}, histogram{0.1: 1, inf: 10}, 0.99); got != 100 {
		t.Errorf("q0.99 in +Inf = %v ms, want 100", got)
	}
	s := series{"GET", "/v1/services", "200"}
	text := `# TYPE wharf_http_request_duration_seconds histogram
wharf_http_request_duration_seconds_bucket{code="200",method="GET",route="/v1/services",le="0.1"} 7
wharf_http_request_duration_seconds_bucket{code="200",method="GET",route="/v1/services",le="+Inf"} 9
wharf_http_request_duration_seconds_bucket{code="201",method="POST",route="/v1/services",le="0.1"} 3
`
	h, err := parseHistogram(bufio.NewScanner(strings.NewReader(text)), s)
	if err != nil || len(h) != 2 || h[0.1] != 7 || h[inf] != 9 {
		t.Fatalf("parsed %v %v", h, err)
	}
}
