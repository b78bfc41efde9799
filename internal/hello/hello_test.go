package hello

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestHandlerCountsAndNames(t *testing.T) {
	t.Setenv("WHARF_CONTAINER_NAME", "web-3")
	t.Setenv("WHARF_NODE", "node-1")
	h := Handler()
	for i := 1; i <= 2; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		want := "Hello from web-3 on node node-1 (request " + string(rune('0'+i)) + ")"
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("answer %d = %q, want it to contain %q", i, rec.Body.String(), want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?format=json", nil))
	var r Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Container != "web-3" || r.Node != "node-1" || r.Requests != 3 {
		t.Fatalf("json reply = %+v", r)
	}
}

func TestRunSaysLastLineOnceListening(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	t.Cleanup(func() { os.Stdout = stdout })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Addr: "127.0.0.1:0", Say: "ready"}) }()
	lines := bufio.NewScanner(r)
	var got []string
	for len(got) < 2 && lines.Scan() {
		got = append(got, lines.Text())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	w.Close()
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "hello: serving") || got[1] != "ready" {
		t.Fatalf("output lines = %q, want the serving line, then just %q", got, "ready")
	}
}
