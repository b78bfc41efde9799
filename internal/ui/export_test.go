package ui

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromeTab lends the browser-test helper to the tests of package ui_test
// (which run a whole cluster, whose server imports this package).
type ChromeTab struct{ c *chromeTab }

func NewChromeTab(t *testing.T, timeout time.Duration) *ChromeTab {
	t.Helper()
	return &ChromeTab{newChromeTab(t, timeout)}
}

func (c *ChromeTab) Shot(name string) chromedp.Action[chromedp.Void] { return c.c.shot(name) }

func (c *ChromeTab) Step(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.c.t.Helper()
	c.c.step(what, actions...)
}

func (c *ChromeTab) Eval(expr string) bool { c.c.t.Helper(); return c.c.eval(expr) }

func (c *ChromeTab) Done() { c.c.t.Helper(); c.c.done() }

// FetchStatus runs a fetch in the page (same origin, the page's cookies)
// and returns the answer's status.
func (c *ChromeTab) FetchStatus(js string) int {
	c.c.t.Helper()
	v, err := chromedp.Run(c.c.ctx, chromedp.Evaluate[int](js+`.then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		c.c.t.Fatalf("fetch %s: %v", js, err)
	}
	return v
}
