package ui_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
	"github.com/wharfhq/wharf/internal/testcluster"
	"github.com/wharfhq/wharf/internal/ui"
)

// stackCompose is what the browser test pastes: two services of the fake
// driver (containers in memory that write log lines), one of them with a
// variable.
const stackCompose = `services:
  web:
    command: [serve]
    environment:
      WHARF_FAKE_OUTPUT: "hello from ${GREETER:-nobody}"
    x-wharf:
      driver: fake
  worker:
    command: [work]
    cap_add: [NET_ADMIN]
    x-wharf:
      driver: fake
`

// TestBrowserStacks drives the stack pages in real headless Chromium on a
// whole in-process cluster (server, controllers, and an agent of the fake
// driver): deploy a stack from a pasted compose file (its plan first,
// then Apply), see its services go Running on the open page without a
// reload once a node joins, scale one, follow its logs as a new container
// starts, remove the stack by typing its name; a read-only token's stacks
// page has no deploy form. It skips without Chromium unless
// WHARF_REQUIRE_CHROMIUM=1.
func TestBrowserStacks(t *testing.T) {
	c := ui.NewChromeTab(t, 90*time.Second)
	cl := testcluster.Start(t, testcluster.Options{})
	ctx := context.Background()

	c.Step("sign in",
		chromedp.Navigate(cl.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), cl.Token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(`//h1[text()="Overview"]`),
	)
	c.Step("plan a pasted compose file",
		chromedp.Navigate(cl.URL+"/ui/stacks"),
		chromedp.WaitVisible(chromedp.CSS("#stack-form")),
		chromedp.SetValue(chromedp.CSS("#stack-name"), "shop"),
		chromedp.SetValue(chromedp.CSS("#compose"), stackCompose),
		chromedp.SetValue(chromedp.CSS("#vars"), "GREETER=the stack"),
		c.Shot("stack-deploy-form"),
		chromedp.Click(chromedp.CSS("#show-plan")),
		chromedp.WaitVisible(`//p[@data-testid="plan-summary"][contains(., "2 to create")]`),
		chromedp.WaitVisible(`//ul[@id="plan-warnings"]/li[contains(., "cap_add")]`),
		c.Shot("stack-plan"),
	)
	if l, err := cl.Client.Stacks(ctx); err != nil || len(l) != 0 {
		t.Fatalf("the plan deployed: %v, %v", l, err)
	}
	c.Step("apply",
		chromedp.Click(chromedp.CSS("#apply")),
		chromedp.WaitVisible(`//h1[text()="shop"]`),
		chromedp.WaitVisible(`//section[@id="stack-services"]//p[contains(., "0 of 2 services running")]`),
		chromedp.WaitVisible(`//p[@id="live-status"][text()="Live"]`),
	)
	// No node yet: the services wait. A node joins; the open page shows
	// them running (a marker on the window survives only without a
	// reload).
	c.Eval(`window.wharfMarker = true`)
	cl.AddAgent("ui-stacks-n1", nil, fake.New())
	c.Step("services go Running live",
		chromedp.WaitVisible(`//section[@id="stack-services"]//p[contains(., "2 of 2 services running")]`),
		c.Shot("stack-running"),
	)
	if !c.Eval(`window.wharfMarker === true`) {
		t.Error("the stack page was reloaded to show its services running")
	}

	svcs, err := cl.Client.StackServices(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	web := ""
	for _, s := range svcs {
		if s.Spec.Env["WHARF_FAKE_OUTPUT"] != "" {
			web = s.ID
		}
	}
	if web == "" {
		t.Fatalf("no web service in %+v", svcs)
	}
	// Pages are opened by their address, not by a link in a part that a
	// live update may replace while it is clicked.
	c.Step("scale web",
		chromedp.Navigate(cl.URL+"/ui/services/"+web),
		chromedp.WaitVisible(chromedp.CSS("#replicas")),
		chromedp.SetValue(chromedp.CSS("#replicas"), "2"),
		chromedp.Submit(chromedp.CSS("#replicas")),
		chromedp.WaitVisible(`//dd[@data-testid="service-count"][contains(., "2 running of 2 wanted")]`),
	)
	c.Step("logs",
		chromedp.Navigate(cl.URL+"/ui/services/"+web+"/logs"),
		chromedp.WaitVisible(`//pre[@id="log-lines"][contains(., "hello from the stack")]`),
	)
	// Followed: a third container's lines appear on the open page.
	if _, err := cl.Client.ScaleService(ctx, web, 3); err != nil {
		t.Fatal(err)
	}
	c.Step("follow the logs",
		chromedp.Poll[chromedp.Void](`document.getElementById("log-lines").textContent.split("hello from the stack").length > 3`),
		c.Shot("stack-logs"),
	)

	c.Step("remove the stack",
		chromedp.Navigate(cl.URL+"/ui/stacks/shop"),
		chromedp.Click(chromedp.CSS("#remove-stack")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "shop"),
		chromedp.Submit(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(`//h1[text()="Stacks"]`),
	)
	testcluster.Eventually(t, 30*time.Second, func() error {
		if l, err := cl.Client.Stacks(ctx); err != nil || len(l) != 0 {
			return errors.New("the stack is still listed")
		}
		return nil
	})

	viewer, err := cl.Client.CreateToken(ctx, "ui-stacks-viewer", api.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	c.Step("sign in read-only",
		chromedp.Click(`//button[text()="Sign out"]`),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), viewer.Secret),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(`//h1[text()="Overview"]`),
		chromedp.Navigate(cl.URL+"/ui/stacks"),
		chromedp.WaitVisible(`//h1[text()="Stacks"]`),
	)
	if !c.Eval(`document.getElementById("stack-form") === null && document.querySelector("form[action='/ui/stacks/plan']") === null`) {
		t.Error("the read-only role's stacks page has a deploy form")
	}
	c.Done() // before the forged call, whose 403 the console reports
	// A forged deploy from the read-only session itself, with its valid
	// form token (from the sign-out form): the domain refuses it.
	forged := `fetch("/ui/stacks/apply", {method: "POST", body: new URLSearchParams({` +
		`csrf: document.querySelector("input[name=csrf]").value, name: "forged", compose: "services:\n  x:\n    image: busybox\n"})})`
	if code := c.FetchStatus(forged); code != http.StatusForbidden {
		t.Errorf("a read-only session's forged deploy got %d, want 403", code)
	}
	if l, err := cl.Client.Stacks(ctx); err != nil || len(l) != 0 {
		t.Errorf("after the forged deploy: stacks %v, %v; want none", l, err)
	}
}
