package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser drives the dashboard in real headless Chromium: sign in
// with a token, see the services page, scale a service with its form,
// then see a change made elsewhere (as by the CLI) appear on the open
// page without a reload; no page may break its content security policy
// or throw. Screenshots go to $WHARF_UI_SCREENSHOTS, else the test's
// artifact directory (go test -artifacts keeps them). It skips without
// Chromium unless WHARF_REQUIRE_CHROMIUM=1.
func TestBrowser(t *testing.T) {
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
	shots := os.Getenv("WHARF_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.ArtifactDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	svc := e.service("web", 1)
	e.service("worker", 2)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// A guard against a hung browser, not a timed assertion.
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == "error") {
				mu.Lock()
				problems = append(problems, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}

	step("sign in",
		chromedp.Navigate(e.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		shot("01-sign-in"),
		chromedp.SendKeys(chromedp.CSS("#token"), e.admin),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(`//h1[text()="Overview"]`),
		shot("02-overview"),
	)
	step("services page",
		chromedp.Navigate(e.srv.URL+"/ui/services"),
		chromedp.WaitVisible(`//a[text()="worker"]`),
		shot("03-services"),
	)
	step("scale with the form",
		chromedp.Navigate(e.srv.URL+"/ui/services/"+svc.ID),
		chromedp.WaitVisible(chromedp.CSS("#replicas")),
		chromedp.SetValue(chromedp.CSS("#replicas"), "3"),
		chromedp.Submit(chromedp.CSS("#replicas")),
		chromedp.WaitVisible(`//dd[@data-testid="service-count"][contains(., "of 3 wanted")]`),
		chromedp.WaitVisible(`//p[@id="live-status"][text()="Live"]`),
		shot("04-service-scaled"),
	)
	if n := e.replicas(svc.ID); n != 3 {
		t.Fatalf("replicas %d after scaling to 3 in the browser", n)
	}
	// A marker on the page's window survives only if the page is not
	// reloaded.
	eval(`window.wharfMarker = true`)
	if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, 5, 0); err != nil {
		t.Fatal(err)
	}
	step("see the change live",
		chromedp.WaitVisible(`//dd[@data-testid="service-count"][contains(., "of 5 wanted")]`),
		shot("05-service-live"),
	)
	if !eval(`window.wharfMarker === true`) {
		t.Error("the page was reloaded to show the change")
	}
	step("phone width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/ui/services"),
		chromedp.WaitVisible(`//a[text()="web"]`),
		shot("06-services-phone"),
	)
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported errors (a CSP violation, a script error):\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("screenshots in %s", shots)
}
