package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromeTab is one tab of a real headless Chromium for a browser test:
// it records every script error and content security policy violation
// the pages report, and writes screenshots to $WHARF_UI_SCREENSHOTS, else
// the test's artifact directory (go test -artifacts keeps them).
type chromeTab struct {
	t        *testing.T
	ctx      context.Context
	shots    string
	mu       sync.Mutex
	problems []string
	// churned counts the resources Chromium failed to load because the
	// host's network changed (see step).
	churned int
}

// newChromeTab starts Chromium (headless, accepting the test servers'
// certificates) for t, or skips t without Chromium unless
// WHARF_REQUIRE_CHROMIUM=1. timeout guards against a hung browser; it is
// not a timed assertion.
func newChromeTab(t *testing.T, timeout time.Duration) *chromeTab {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("WHARF_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("Chromium is not installed (apt-get install chromium) and WHARF_REQUIRE_CHROMIUM=1")
		}
		t.Skip("Chromium is not installed; set WHARF_REQUIRE_CHROMIUM=1 to make this a failure")
	}
	c := &chromeTab{t: t, shots: os.Getenv("WHARF_UI_SCREENSHOTS")}
	if c.shots == "" {
		c.shots = t.ArtifactDir()
	} else if err := os.MkdirAll(c.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	c.ctx = ctx
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == "error") {
				c.mu.Lock()
				if text := m.String(); strings.Contains(text, networkChanged) {
					// Not the page's fault (see step).
					c.churned++
				} else {
					c.problems = append(c.problems, text+" "+m.URL)
				}
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// shot writes a full-page screenshot as name.png.
func (c *chromeTab) shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(c.shots, name+".png"), png, 0o644)
	})
}

// step runs actions, failing the test with what on an error. Chromium
// fails a load under way with net::ERR_NETWORK_CHANGED when the host's
// interfaces change, which other tests do on this machine (Docker
// networks, bridges, veth pairs come and go): such a step is run again,
// up to twice; any other error fails at once.
// A page resource (a script, a stylesheet) that failed to load for that
// reason is logged, not reported as the page's error; a step that then
// fails on the page it left fails as any other.
func (c *chromeTab) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(c.ctx, actions...)
		c.mu.Lock()
		churned := c.churned
		c.churned = 0
		c.mu.Unlock()
		if churned > 0 {
			c.t.Logf("%s: %d resources not loaded: the host's network changed under Chromium", what, churned)
		}
		switch {
		case err == nil:
			return
		case attempt < 3 && strings.Contains(err.Error(), networkChanged):
			c.t.Logf("%s: %v (the host's network changed under Chromium): again", what, err)
			time.Sleep(500 * time.Millisecond)
		default:
			c.t.Fatalf("%s: %v", what, err)
		}
	}
}

// networkChanged is how Chromium names a load it gave up because the
// host's network interfaces changed.
const networkChanged = "ERR_NETWORK_CHANGED"

// eval evaluates a JavaScript expression of a boolean value.
func (c *chromeTab) eval(expr string) bool {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// done fails the test when a page reported an error.
func (c *chromeTab) done() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) > 0 {
		c.t.Errorf("the browser reported errors (a CSP violation, a script error):\n%s", strings.Join(c.problems, "\n"))
	}
	c.t.Logf("screenshots in %s", c.shots)
}

// TestBrowser drives the dashboard in real headless Chromium: sign in
// with a token, see the services page, scale a service with its form,
// then see a change made elsewhere (as by the CLI) appear on the open
// page without a reload; no page may break its content security policy
// or throw. It skips without Chromium unless WHARF_REQUIRE_CHROMIUM=1.
func TestBrowser(t *testing.T) {
	c := newChromeTab(t, 90*time.Second)
	e := newEnv(t)
	svc := e.service("web", 1)
	e.service("worker", 2)

	c.step("sign in",
		chromedp.Navigate(e.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		c.shot("01-sign-in"),
		chromedp.SendKeys(chromedp.CSS("#token"), e.admin),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(`//h1[text()="Overview"]`),
		c.shot("02-overview"),
	)
	c.step("services page",
		chromedp.Navigate(e.srv.URL+"/ui/services"),
		chromedp.WaitVisible(`//a[text()="worker"]`),
		c.shot("03-services"),
	)
	c.step("scale with the form",
		chromedp.Navigate(e.srv.URL+"/ui/services/"+svc.ID),
		chromedp.WaitVisible(chromedp.CSS("#replicas")),
		chromedp.SetValue(chromedp.CSS("#replicas"), "3"),
		chromedp.Submit(chromedp.CSS("#replicas")),
		chromedp.WaitVisible(`//dd[@data-testid="service-count"][contains(., "of 3 wanted")]`),
		chromedp.WaitVisible(`//p[@id="live-status"][text()="Live"]`),
		c.shot("04-service-scaled"),
	)
	if n := e.replicas(svc.ID); n != 3 {
		t.Fatalf("replicas %d after scaling to 3 in the browser", n)
	}
	// A marker on the page's window survives only if the page is not
	// reloaded.
	c.eval(`window.wharfMarker = true`)
	if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, 5, 0); err != nil {
		t.Fatal(err)
	}
	c.step("see the change live",
		chromedp.WaitVisible(`//dd[@data-testid="service-count"][contains(., "of 5 wanted")]`),
		c.shot("05-service-live"),
	)
	if !c.eval(`window.wharfMarker === true`) {
		t.Error("the page was reloaded to show the change")
	}
	// Every other page, once: each renders, breaks no policy and throws
	// nothing (done), and leaves its screenshot. (Logs, which need a node
	// to read from, are TestBrowserStacks'.)
	for i, pg := range []struct{ name, path string }{
		{"stacks", "/ui/stacks"},
		{"nodes", "/ui/nodes"},
		{"events", "/ui/events"},
		{"audit", "/ui/audit"},
		{"tokens", "/ui/tokens"},
		{"token-new", "/ui/tokens/new"},
		{"secrets", "/ui/secrets"},
		{"orgs", "/ui/orgs"},
		{"teams", "/ui/teams"},
		{"images", "/ui/images"},
	} {
		c.step(pg.name+" page",
			chromedp.Navigate(e.srv.URL+pg.path),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
			c.shot(fmt.Sprintf("%02d-%s", 10+i, pg.name)),
		)
	}
	c.step("phone width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/ui/services"),
		chromedp.WaitVisible(`//a[text()="web"]`),
		c.shot("06-services-phone"),
	)
	c.done()
}
