package agentcmd

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile is RssFile of this process, in kB.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// dropBinaryPages lowers the process's file pages, and the process goes
// on running the code it dropped (it comes back from the page cache).
func TestDropBinaryPages(t *testing.T) {
	before := rssFile(t)
	n, err := dropBinaryPages()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if n == 0 || after >= before {
		t.Fatalf("advised %d bytes of mappings; RssFile %d kB before, %d kB after", n, before, after)
	}
	// Code that ran before the drop runs after it.
	if _, err := parseLabels([]string{"a=b"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}
