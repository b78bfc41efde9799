package testserver

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestMetric(t *testing.T) {
	text := "# HELP go_memstats_heap_inuse_bytes x\ngo_memstats_heap_inuse_bytes_total 1\ngo_memstats_heap_inuse_bytes 1.5e+06\n"
	v, err := metric(strings.NewReader(text), "go_memstats_heap_inuse_bytes")
	if err != nil || v != 1.5e6 {
		t.Fatalf("metric = %v, %v; want 1.5e6", v, err)
	}
	if _, err := metric(strings.NewReader(text), "wharf_missing"); err == nil || !strings.Contains(err.Error(), "wharf_missing") {
		t.Fatalf("a missing metric: err = %v, want one naming it", err)
	}
	if _, err := metric(strings.NewReader("up x\n"), "up"); err == nil {
		t.Fatal("a value that is no number: no error")
	}
}

func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	rss, err := ProcRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("ProcRSS(self) = %d, %v; want over 1 MB", rss, err)
	}
	anon, file, err := ProcRSSSplit(os.Getpid())
	if err != nil || anon <= 0 || file <= 0 || anon+file > 2*rss {
		t.Fatalf("ProcRSSSplit(self) = %d, %d, %v; want two parts of RSS %d", anon, file, err, rss)
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := ProcRSS(-1); err == nil {
		t.Fatal("ProcRSS(-1): no error")
	}
}
