package ui

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// openStream opens the event stream in browser b and returns its lines.
func openStream(t *testing.T, b *browser) (*bufio.Scanner, func()) {
	t.Helper()
	// A guard against a hung test, not a timed assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.srv.URL+"/ui/stream", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), ": wharf dashboard events") {
	}
	return sc, func() { cancel(); resp.Body.Close() }
}

// next is the next event's type and data.
func next(sc *bufio.Scanner) (typ, data string) {
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "event: "):
			typ = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			data = strings.TrimPrefix(l, "data: ")
		case l == "" && typ != "":
			return typ, data
		}
	}
	return "", ""
}

// TestStreamSendsChanges: a change made anywhere (here, through the
// domain layer as the CLI would) reaches the page's stream; another
// organization's does not.
func TestStreamSendsChanges(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 1)
	b := e.signedIn(e.admin)
	sc, stop := openStream(t, b)
	defer stop()
	if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, 4, 0); err != nil {
		t.Fatal(err)
	}
	typ, data := next(sc)
	if typ != "change" || !strings.Contains(data, `"object":"`+svc.ID+`"`) || !strings.Contains(data, `"kind":"service"`) {
		t.Errorf("stream sent %s %s, want the service's change", typ, data)
	}
}

// TestStreamEndsWhenSignedOut: the stream authenticates its session again
// at each heartbeat and ends, telling the page, once the token is gone.
func TestStreamEndsWhenSignedOut(t *testing.T) {
	e := newEnv(t)
	e.h.cfg.Heartbeat = 20 * time.Millisecond
	tok, err := e.d.CreateToken(e.ctx, e.root, "tab", api.RoleAdmin, false)
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(tok.Secret)
	sc, stop := openStream(t, b)
	defer stop()
	if err := e.d.DeleteToken(e.ctx, e.root, tok.Token.ID); err != nil {
		t.Fatal(err)
	}
	typ, _ := next(sc)
	for typ == "change" { // the token's deletion is an event too
		typ, _ = next(sc)
	}
	if typ != "signedout" {
		t.Errorf("stream sent %q, want signedout", typ)
	}
}

// TestStreamRefusals: no stream without a session.
func TestStreamRefusals(t *testing.T) {
	e := newEnv(t)
	wantCode(t, "stream without a session", e.browser().get("/ui/stream"), http.StatusSeeOther)
}
