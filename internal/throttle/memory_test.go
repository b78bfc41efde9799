package throttle

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkFullTable reports the heap a table full of sources holds
// (DefaultMaxSources, each blocked once), in MB and bytes per source.
func BenchmarkFullTable(b *testing.B) {
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := New(Config{Failures: 1})
		for i := range DefaultMaxSources {
			l.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if l.Len() != DefaultMaxSources {
			b.Fatalf("table holds %d sources, want %d", l.Len(), DefaultMaxSources)
		}
		held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric(held/(1<<20), "MB")
		b.ReportMetric(held/DefaultMaxSources, "B/source")
		runtime.KeepAlive(l)
	}
}
