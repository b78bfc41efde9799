package testserver

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestProcUsageCountsPageFaults(t *testing.T) {
	before, err := ReadProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Fresh anonymous memory: every page written is a fault (a few with
	// transparent huge pages, never none).
	const size = 16 << 20
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Munmap(mem) }()
	for i := 0; i < size; i += 4096 {
		mem[i] = 1
	}
	after, err := ReadProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	used := after.Sub(before)
	if used.MinorFaults <= 0 || used.User < 0 || used.System < 0 {
		t.Fatalf("usage over writing 16 MB of fresh memory: %+v; want page faults", used)
	}
	if !strings.Contains(used.String(), "page faults") {
		t.Fatalf("String() = %q", used.String())
	}
	if _, err := ReadProcUsage(-1); err == nil {
		t.Fatal("ReadProcUsage(-1): no error")
	}
}
