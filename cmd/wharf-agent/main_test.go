package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// wharf-agent takes `wharf agent`'s command lines, with or without the
// word agent, and says what is wrong with a bad one.
func TestRunTakesWharfAgentsCommandLines(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"agent", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--token-file") {
			t.Errorf("%q: exit %d, help:\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"agent", "--no-such-flag"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "unknown flag: --no-such-flag") {
		t.Errorf("a bad flag: exit %d, stderr %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"--config", "/dev/null"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no server") {
		t.Errorf("no --server: exit %d, stderr %q", code, errOut.String())
	}
}
