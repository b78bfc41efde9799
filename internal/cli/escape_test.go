package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/hostile"
)

// hostileAPI serves lists whose names, labels, commands, events and
// errors carry terminal escape payloads, as a cluster would after someone
// named things that way.
func hostileAPI(t *testing.T) string {
	t.Helper()
	all := strings.Join(hostile.Payloads, "|")
	labels := map[string]string{}
	for i, p := range hostile.Payloads {
		labels["k"+string(rune('a'+i))] = p
	}
	lists := map[string]any{
		"/v1/nodes": []api.Node{{Meta: api.Meta{ID: "n1" + hostile.ClearScreen, Name: "node" + hostile.Retitle}, Hostname: "h",
			State: api.NodeState("Ready" + hostile.C1ClearScreen), Labels: labels, Addresses: []string{hostile.BidiOverride}}},
		"/v1/services": []api.Service{{Meta: api.Meta{ID: "s1", Name: "web"},
			Spec: api.ServiceSpec{Command: []string{"sh", "-c", all}, Replicas: 1}}},
		"/v1/events": []api.Event{{Kind: "node", Type: "state", Name: hostile.NewlineForgery, State: hostile.CarriageReturn,
			Message: all, Time: time.Now()}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if items, ok := lists[r.URL.Path]; ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeInvalid, Message: "no such thing: " + all}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestHostileNamesAreEscaped runs list commands in every output format
// against a server full of escape payloads: nothing a terminal acts on
// comes out raw, and the payloads are visible as escapes.
func TestHostileNamesAreEscaped(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	conn := []string{"--addr", hostileAPI(t), "--token", "t"}
	for _, args := range [][]string{
		{"node", "ls"},
		{"node", "ls", "--format", "{{.ID}} {{.name}} {{.Labels}} {{range $k, $v := .labels}}{{$v}}{{end}}"},
		{"node", "ls", "--format", "{{json .}}"},
		{"node", "ls", "--format", "json"},
		{"node", "ls", "-q"},
		{"service", "ls"},
		{"service", "ls", "--format", "{{.spec.command}}"},
		{"events"},
		{"events", "--json"},
	} {
		out, errOut, err := runCLI(t, append(args, conn...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if hostile.Raw(out, true) || hostile.Raw(errOut, true) {
			t.Errorf("wharf %s printed a raw control character:\n%q", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, `\x1b`) && !strings.Contains(out, `\u001b`) && args[0] != "service" {
			t.Errorf("wharf %s: the payload is not visible as an escape:\n%s", strings.Join(args, " "), out)
		}
	}
	// Table rows stay rows: the forged newline did not make one.
	out, _, _ := runCLI(t, append([]string{"events"}, conn...)...)
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 {
		t.Errorf("one event printed as %d lines:\n%s", n+1, out)
	}
	// An error message from the server is escaped too.
	_, _, err := runCLI(t, append([]string{"service", "inspect", "x"}, conn...)...)
	if err == nil {
		t.Fatal("inspect of a missing service succeeded")
	}
	var buf bytes.Buffer
	printError(&buf, err)
	if hostile.Raw(strings.TrimSuffix(buf.String(), "\n"), false) || strings.Count(buf.String(), "\n") != 1 || !strings.Contains(buf.String(), `\x1b[2J`) {
		t.Errorf("error printed as %q", buf.String())
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain é 漢":     "plain é 漢",
		"a\x1b[2Jb":     `a\x1b[2Jb`,
		"tab\there\nnl": `tab\there\nnl`,
		"ok\rFAKE":      `ok\rFAKE`,
		"del\x7f":       `del\x7f`,
		"c1\u009b2J":    `c1\u009b2J`,
		"\u202etxt.exe": `\u202etxt.exe`,
		"bad\xffutf8":   `bad\xffutf8`,
		"bell\a":        `bell\x07`,
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
	if got := escape("line 1\n\tline 2\x1b[0m\n", "\t\n"); got != "line 1\n\tline 2\\x1b[0m\n" {
		t.Errorf("multi-line escape: %q", got)
	}
	// JSON stays JSON and reads back as the same text.
	in := map[string]string{"v": strings.Join(hostile.Payloads, "") + "\x7f"}
	var buf bytes.Buffer
	if err := printJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["v"] != in["v"] || hostile.Raw(buf.String(), true) {
		t.Errorf("printJSON: %q (%v), read back equal: %v", buf.String(), err, back["v"] == in["v"])
	}
}

// TestPayloadWriter: a workload's output is escaped on a terminal, even
// when a UTF-8 sequence is cut between two writes, and kept byte for byte
// otherwise.
func TestPayloadWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &escapeWriter{w: &buf}
	c1 := []byte("\u009b")
	for _, chunk := range [][]byte{[]byte("out\x1b[31m red\n\t"), c1[:1], c1[1:], []byte("2J é\n")} {
		if n, err := w.Write(chunk); err != nil || n != len(chunk) {
			t.Fatal(n, err)
		}
	}
	if got := buf.String(); got != "out\\x1b[31m red\n\t\\u009b2J é\n" {
		t.Errorf("escaped stream: %q", got)
	}
	var plain bytes.Buffer
	if payloadWriter(&plain, false) != &plain {
		t.Error("output to a buffer (not a terminal) is not passed through as it is")
	}
}
