package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netdns"
)

// BenchmarkDNSResolver measures the queries per second of a node's
// resolver (internal/netdns, in this process) and of dnsmasq from Debian
// serving the same 1,000 names (250 services of two ready containers:
// "svcN", "tasks.svcN", "svcN-1" and "svcN-2"), each driven by dnsperf
// for WHARF_BENCH_DNS_SECONDS (10) with 10 clients, 2 threads and at most
// 500 queries outstanding, one after the other. The figures are reported
// (netdns-qps, dnsmasq-qps, their ratio and the queries each lost), not
// asserted. It skips without dnsperf or dnsmasq (apt-get install dnsperf
// dnsmasq).
func BenchmarkDNSResolver(b *testing.B) {
	for _, tool := range []string{"dnsperf", "dnsmasq"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed (apt-get install -y dnsperf dnsmasq): %v", tool, err)
		}
	}
	secs := envInt(b, "WHARF_BENCH_DNS_SECONDS", 10)
	dir := b.TempDir()
	names := dnsNames()
	hosts, queries := filepath.Join(dir, "hosts"), filepath.Join(dir, "queries")
	writeDNSFiles(b, names, hosts, queries)

	s := netdns.New(netdns.Config{Upstreams: []string{"127.0.0.1:9"}, Search: []string{}})
	b.Cleanup(s.Close)
	s.Update([]api.NodeNetwork{{ID: "n1", Name: "default", Subnet: api.DefaultSubnet, Gateway: "10.7.0.1", Names: names}})
	any := netip.MustParseAddrPort("127.0.0.1:0")
	if err := s.Listen(any); err != nil {
		b.Fatal(err)
	}
	ours, _ := s.BoundAddr(any)
	theirs := startDnsmasq(b, hosts)
	for _, server := range []string{ours.String(), theirs} {
		if got, want := resolve(b, server, "tasks.svc7."), names["tasks.svc7"]; !sameAddrs(got, want) {
			b.Fatalf("%s answers tasks.svc7 with %v; want %v", server, got, want)
		}
	}
	b.ResetTimer()
	for range b.N {
		mq, mlost := dnsperf(b, theirs, queries, secs)
		oq, olost := dnsperf(b, ours.String(), queries, secs)
		b.ReportMetric(oq, "netdns-qps")
		b.ReportMetric(mq, "dnsmasq-qps")
		b.ReportMetric(oq/mq, "netdns/dnsmasq")
		b.ReportMetric(float64(olost), "netdns-lost")
		b.ReportMetric(float64(mlost), "dnsmasq-lost")
	}
}

// dnsNames is 1,000 names of 250 services of two containers each.
func dnsNames() map[string][]string {
	names := map[string][]string{}
	for i := range 250 {
		a := fmt.Sprintf("10.7.%d.%d", i/100, 2*(i%100)+2)
		c := fmt.Sprintf("10.7.%d.%d", i/100, 2*(i%100)+3)
		svc := fmt.Sprintf("svc%d", i)
		names[svc] = []string{a, c}
		names["tasks."+svc] = []string{a, c}
		names[svc+"-1"] = []string{a}
		names[svc+"-2"] = []string{c}
	}
	return names
}

// writeDNSFiles writes names as a hosts file for dnsmasq and as a query
// file for dnsperf (each name once, type A, in a fixed order).
func writeDNSFiles(b *testing.B, names map[string][]string, hosts, queries string) {
	var h, q strings.Builder
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range names {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range keys {
		for _, a := range names[name] {
			fmt.Fprintf(&h, "%s %s\n", a, name)
		}
		fmt.Fprintf(&q, "%s A\n", name)
	}
	if err := os.WriteFile(hosts, []byte(h.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(queries, []byte(q.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// startDnsmasq runs dnsmasq on a free port of 127.0.0.1 answering from
// hosts alone, until the benchmark ends, and returns its address.
func startDnsmasq(b *testing.B, hosts string) string {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "dnsmasq", "--no-daemon", "--port="+strconv.Itoa(port),
		"--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
		"--addn-hosts="+hosts, "--conf-file=/dev/null", "--pid-file=", "--user=root", "--log-facility=-")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		m := new(dns.Msg)
		m.SetQuestion("svc0.", dns.TypeA)
		if r, _, err := c.Exchange(m, addr); err == nil && len(r.Answer) > 0 {
			return addr
		}
	}
	b.Fatalf("dnsmasq on %s did not answer within 10 s; its output:\n%s", addr, out.String())
	return ""
}

// resolve is server's A records for name.
func resolve(b *testing.B, server, name string) []string {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, server)
	if err != nil {
		b.Fatalf("%s from %s: %v", name, server, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func sameAddrs(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

var (
	qpsLine  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	lostLine = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
)

// dnsperf drives server with queries for secs seconds and returns the
// queries per second it measured and the queries lost.
func dnsperf(b *testing.B, server, queries string, secs int) (float64, int) {
	host, port, _ := net.SplitHostPort(server)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dnsperf", "-s", host, "-p", port, "-d", queries,
		"-l", strconv.Itoa(secs), "-c", "10", "-T", "2", "-q", "100", "-t", "2").CombinedOutput()
	if err != nil {
		b.Fatalf("dnsperf against %s: %v\n%s", server, err, out)
	}
	m := qpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("dnsperf against %s printed no queries per second:\n%s", server, out)
	}
	qps, _ := strconv.ParseFloat(string(m[1]), 64)
	lost := 0
	if l := lostLine.FindSubmatch(out); l != nil {
		lost, _ = strconv.Atoi(string(l[1]))
	}
	b.Logf("dnsperf against %s:\n%s", server, out)
	return qps, lost
}
