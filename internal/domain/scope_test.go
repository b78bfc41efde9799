package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// orgAdmin is an admin of organization org.
func orgAdmin(org string) Actor {
	return Actor{Name: "admin-" + org, Token: "t-" + org, Org: org, Access: OwnerAccess(), Role: api.RoleAdmin}
}

// wantNotFound checks err is exactly the not-found error a missing ref
// gets.
func wantNotFound(t *testing.T, what, ref string, err error) {
	t.Helper()
	want := `"` + ref + `" not found`
	if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != what+" "+want {
		t.Fatalf("%s %s: got %v, want not found", what, ref, err)
	}
}

func TestTwoOrgsEachHaveWeb(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	sa, err := d.CreateService(ctx, a, "web", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	sb, err := d.CreateService(ctx, b, "web", sleepSpec())
	if err != nil {
		t.Fatalf("org b's web: %v", err)
	}
	sd, err := d.CreateService(ctx, admin, "web", sleepSpec())
	if err != nil {
		t.Fatalf("default org's web: %v", err)
	}
	if sa.Org != "a" || sb.Org != "b" || sd.Org != DefaultOrg {
		t.Fatalf("orgs: %q %q %q", sa.Org, sb.Org, sd.Org)
	}
	// The default organization keeps the old name index key.
	var idx nameIndex
	if err := d.st.Get(ctx, store.KindNames, "services.web", &idx); err != nil || idx.Name != sd.ID {
		t.Fatalf("services.web: %+v %v", idx, err)
	}
	if _, err := d.CreateService(ctx, b, "web", sleepSpec()); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("second web in b: %v", err)
	}
	for _, c := range []struct {
		a    Actor
		mine *api.Service
	}{{a, sa}, {b, sb}, {admin, sd}} {
		l, err := c.a.listServices(t, d)
		if err != nil || len(l) != 1 || l[0] != c.mine.ID {
			t.Fatalf("%s lists %v, %v; want only %s", c.a.Org, l, err, c.mine.ID)
		}
		got, err := d.GetService(ctx, c.a, "web")
		if err != nil || got.ID != c.mine.ID {
			t.Fatalf("%s gets web: %v %v", c.a.Org, got, err)
		}
	}
	// b cannot see nor touch a's service, by ID: exactly not found.
	_, err = d.GetService(ctx, b, sa.ID)
	wantNotFound(t, "service", sa.ID, err)
	_, err = d.ScaleService(ctx, b, sa.ID, 3, 0)
	wantNotFound(t, "service", sa.ID, err)
	_, err = d.RemoveService(ctx, b, sa.ID, 0)
	wantNotFound(t, "service", sa.ID, err)
	_, err = d.UpdateService(ctx, b, sa.ID, json.RawMessage(`{"replicas":2}`), 0)
	wantNotFound(t, "service", sa.ID, err)
	if got, _ := d.GetService(ctx, a, sa.ID); got.Spec.Replicas != 1 || got.Terminating {
		t.Fatalf("a's web changed: %+v", got)
	}
	// Events: each organization sees its own creation only.
	for _, c := range []struct {
		a    Actor
		mine string
	}{{a, sa.ID}, {b, sb.ID}} {
		evs, err := d.Events(ctx, c.a, store.EventCursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) != 1 || evs.Items[0].Object != c.mine || evs.Items[0].Org != c.a.Org {
			t.Fatalf("%s events: %+v", c.a.Org, evs.Items)
		}
	}
}

// listServices is the IDs of every service a lists, one page of one at a
// time (so paging over other organizations' services is exercised), via
// the raw list.
func (a Actor) listServices(t *testing.T, d *Domain) ([]string, error) {
	t.Helper()
	var ids []string
	after := ""
	for range 100 {
		p, err := d.ListServicesRaw(t.Context(), a, Page{Limit: 1, After: after})
		if err != nil {
			return nil, err
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	typed, err := d.ListServices(t.Context(), a, "", Page{})
	if err != nil {
		return nil, err
	}
	if len(typed.Items) != len(ids) {
		t.Fatalf("raw list %v, typed list %d items", ids, len(typed.Items))
	}
	return ids, nil
}

func TestRawPagesSkipOtherOrgs(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	var mine []string
	for i, n := range []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7"} {
		who := a
		if i%3 != 0 {
			who = b
		}
		svc, err := d.CreateService(ctx, who, n, sleepSpec())
		if err != nil {
			t.Fatal(err)
		}
		if who.Org == "a" {
			mine = append(mine, svc.ID)
		}
	}
	got, err := a.listServices(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(mine) {
		t.Fatalf("a pages through %v, want %d of its own", got, len(mine))
	}
	for _, id := range got {
		var s api.Service
		if err := d.st.Get(ctx, store.KindServices, id, &s); err != nil || s.Org != "a" {
			t.Fatalf("a lists %s of %q", id, s.Org)
		}
	}
	// A label named "org" does not spoof the organization.
	raw := store.RawObject{Value: []byte(`{"id":"x","spec":{"labels":{"org":"a"}},"org":"b"}`)}
	if o, err := rawOrg(raw); err != nil || o != "b" {
		t.Fatalf("rawOrg: %q %v", o, err)
	}
	if o, _ := rawOrg(store.RawObject{Value: []byte(`{"id":"x"}`)}); o != DefaultOrg {
		t.Fatalf("no org: %q", o)
	}
}

func TestOrgScopedStacksTokensJoinTokens(t *testing.T) {
	d := newTestDomain(t, func(c *Config) { c.CADigest = "abc" })
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	ra, err := d.DeployStack(ctx, a, "app", oneServiceStack(), false)
	if err != nil {
		t.Fatal(err)
	}
	// b deploys its own "app": no clash with a's stack nor its services.
	rb, err := d.DeployStack(ctx, b, "app", oneServiceStack(), false)
	if err != nil || !rb.Created {
		t.Fatalf("b's app: %+v %v", rb, err)
	}
	_, err = d.GetStack(ctx, b, ra.Stack.ID)
	wantNotFound(t, "stack", ra.Stack.ID, err)
	_, err = d.RemoveStack(ctx, b, ra.Stack.ID)
	wantNotFound(t, "stack", ra.Stack.ID, err)
	if l, _ := d.ListStacks(ctx, b, Page{}); len(l.Items) != 1 || l.Items[0].ID != rb.Stack.ID {
		t.Fatalf("b's stacks: %+v", l.Items)
	}
	_, err = d.ListServices(ctx, b, ra.Stack.ID, Page{})
	wantNotFound(t, "stack", ra.Stack.ID, err)

	ta, err := d.CreateToken(ctx, a, "ci", api.RoleDeploy, false)
	if err != nil || ta.Token.Org != "a" {
		t.Fatalf("a's token: %+v %v", ta, err)
	}
	if l, _ := d.ListTokens(ctx, b, Page{}); len(l.Items) != 0 {
		t.Fatalf("b lists a's tokens: %+v", l.Items)
	}
	if err := d.DeleteToken(ctx, b, ta.Token.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("b deletes a's token: %v", err)
	}
	ja, err := d.CreateJoinToken(ctx, a, api.JoinTokenRequest{})
	if err != nil || ja.JoinToken.Org != "a" {
		t.Fatalf("a's join token: %+v %v", ja, err)
	}
	if l, _ := d.ListJoinTokens(ctx, b); len(l.Items) != 0 {
		t.Fatalf("b lists a's join tokens: %+v", l.Items)
	}
	if err := d.DeleteJoinToken(ctx, b, ja.JoinToken.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("b revokes a's join token: %v", err)
	}
	// b's rotation revokes b's join tokens only.
	if _, err := d.CreateJoinToken(ctx, b, api.JoinTokenRequest{Rotate: true}); err != nil {
		t.Fatal(err)
	}
	if l, _ := d.ListJoinTokens(ctx, a); len(l.Items) != 1 {
		t.Fatalf("a's join tokens after b's rotation: %+v", l.Items)
	}
	// Actions are recorded in the caller's organization.
	if err := d.RecordAction(ctx, a, api.Action{Who: "admin-a", Method: "POST", Path: "/v1/services"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.ListActions(ctx, b, Page{}); len(p.Items) != 0 {
		t.Fatalf("b lists a's actions")
	}
	if p, _ := d.ListActions(ctx, a, Page{}); len(p.Items) != 1 {
		t.Fatalf("a's actions: %d", len(p.Items))
	}
	// Nodes and containers of a are not b's.
	tx := d.st.Txn()
	tx.Create(store.KindNodes, &api.Node{Meta: api.Meta{ID: "n-a", Name: "host", Org: "a"}})
	tx.Create(store.KindContainers, &api.Container{Meta: api.Meta{ID: "c-a", Name: "app-web-1", Org: "a"}, Spec: api.ContainerSpec{Node: "n-a"}})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"n-a", "host"} {
		_, err = d.GetNode(ctx, b, ref)
		wantNotFound(t, "node", ref, err)
	}
	for _, ref := range []string{"c-a", "app-web-1"} {
		_, err = d.GetContainer(ctx, b, ref)
		wantNotFound(t, "container", ref, err)
	}
	if _, err := d.GetContainer(ctx, a, "app-web-1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := d.ListContainers(ctx, b, "", "", Page{}); len(l.Items) != 0 {
		t.Fatalf("b lists a's containers")
	}
	if p, _ := d.ListNodes(ctx, b, Page{}); len(p.Items) != 0 {
		t.Fatalf("b lists a's nodes")
	}
	// Their events carry no org of b's either.
	evs, _ := d.Events(ctx, b, store.EventCursor{}, 0)
	for _, e := range evs.Items {
		if e.Org != "b" {
			t.Fatalf("b sees event %+v", e)
		}
	}
}

func TestContainerQuota(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	if err := d.st.Create(ctx, store.KindOrgs, &api.Org{Meta: api.Meta{ID: "a"}, Quotas: api.Quotas{Containers: 3}}); err != nil {
		t.Fatal(err)
	}
	spec := sleepSpec()
	spec.Replicas = 2
	if _, err := d.CreateService(ctx, a, "one", spec); err != nil {
		t.Fatal(err)
	}
	quotaErr := func(err error) {
		t.Helper()
		if !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), "quota of 3 containers") || !strings.Contains(err.Error(), "would ask for 4") {
			t.Fatalf("want the quota refusal, got %v", err)
		}
	}
	_, err := d.CreateService(ctx, a, "two", spec)
	quotaErr(err)
	_, err = d.ScaleService(ctx, a, "one", 4, 0)
	if !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("scale past the quota: %v", err)
	}
	_, err = d.UpdateService(ctx, a, "one", json.RawMessage(`{"replicas":4}`), 0)
	if !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("update past the quota: %v", err)
	}
	st := api.StackSpec{Services: []api.StackService{{Name: "web", Spec: spec}}}
	for _, dry := range []bool{true, false} {
		_, err = d.DeployStack(ctx, a, "app", st, dry)
		quotaErr(err)
	}
	// Up to the quota, and down, is fine; b has no quota.
	if _, err := d.ScaleService(ctx, a, "one", 3, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ScaleService(ctx, a, "one", 1, 0); err != nil {
		t.Fatal(err)
	}
	spec.Replicas = 50
	if _, err := d.CreateService(ctx, b, "big", spec); err != nil {
		t.Fatal(err)
	}
	// No half-written state: the refused creations left nothing.
	if _, err := d.GetService(ctx, a, "two"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused service stored: %v", err)
	}
}

// The record helper tests of other packages use lives in their own
// _test files; this checks the token org field the stores keep.
func TestCreateTokenStoresOrg(t *testing.T) {
	d := newTestDomain(t)
	tc, err := d.CreateToken(t.Context(), orgAdmin("b"), "x", api.RoleAdmin, false)
	if err != nil {
		t.Fatal(err)
	}
	var rec records.Token
	if err := d.st.Get(t.Context(), store.KindTokens, tc.Token.ID, &rec); err != nil || rec.Org != "b" {
		t.Fatalf("stored token: %+v %v", rec, err)
	}
	act, err := d.Authenticate(t.Context(), tc.Secret, "")
	if err != nil || act.Org != "b" {
		t.Fatalf("actor: %+v %v", act, err)
	}
}

func TestEventPagesSkipOtherOrgs(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	for i, n := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		who := a
		if i%2 == 1 {
			who = b
		}
		if _, err := d.CreateService(ctx, who, n, sleepSpec()); err != nil {
			t.Fatal(err)
		}
	}
	var cur store.EventCursor
	var names []string
	for range 20 {
		p, err := d.Events(ctx, b, cur, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			if e.Org != "b" {
				t.Fatalf("b's page holds %+v", e)
			}
			names = append(names, e.Name)
		}
		if p.Next == "" {
			break
		}
		if cur, err = store.ParseEventCursor(p.Next); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(names, ",") != "e2,e4,e6" {
		t.Fatalf("b pages through events of %v", names)
	}
	// The stream too: b's watch brings b's events only.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := d.WatchEvents(wctx, b, store.EventCursor{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateService(ctx, a, "e7", sleepSpec()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateService(ctx, b, "e8", sleepSpec()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for e := range ch {
		if e.Err != nil {
			t.Fatal(e.Err)
		}
		got = append(got, e.Event.Name)
		if e.Event.Name == "e8" {
			break
		}
	}
	if strings.Join(got, ",") != "e2,e4,e6,e8" {
		t.Fatalf("b's stream: %v", got)
	}
}

// TestContainerQuotaHoldsUnderConcurrentCreates: changes made at the same
// time are checked one after another, so together they never overshoot
// the organization's containers quota.
func TestContainerQuotaHoldsUnderConcurrentCreates(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	if err := d.st.Create(ctx, store.KindOrgs, &api.Org{Meta: api.Meta{ID: "a"}, Quotas: api.Quotas{Containers: 3}}); err != nil {
		t.Fatal(err)
	}
	a := orgAdmin("a")
	var wg sync.WaitGroup
	var mu sync.Mutex
	made, refused := 0, 0
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.CreateService(ctx, a, fmt.Sprintf("web%d", i), api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 1})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				made++
			case errors.Is(err, errdefs.ErrForbidden):
				refused++
			default:
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if made != 3 || refused != 9 {
		t.Fatalf("made %d services and refused %d under a quota of 3 containers", made, refused)
	}
}

// TestRawOrgAgreesWithDecoding: the prefix reader and a whole decode
// agree on every shape of stored object: org early or late or missing, a
// nested "org", escapes, whitespace, non-string values first.
func TestRawOrgAgreesWithDecoding(t *testing.T) {
	for _, v := range []string{
		`{"id":"x","name":"web","org":"b","labels":{"org":"a"}}`,
		`{"id":"x","name":"web","labels":{"org":"a"},"org":"b"}`,
		`{"id":"x","labels":{"org":"a"}}`,
		`{"id":"x","name":"w\"eb","org":"b"}`,
		`{"id":"x","name":"web\u0041","org":"c"}`,
		`{ "id" : "x", "org" : "b" }`,
		`{"revision":3,"org":"b"}`,
		`{"id":"x","org":""}`,
		`{"id":"x","org":"b\u0062"}`,
		`{}`,
	} {
		var f struct {
			Org string `json:"org"`
		}
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			t.Fatal(err)
		}
		got, err := rawOrg(store.RawObject{ID: "x", Value: []byte(v)})
		if err != nil || got != OrgName(f.Org) {
			t.Errorf("%s: rawOrg %q %v, decoding says %q", v, got, err, OrgName(f.Org))
		}
	}
	if _, err := rawOrg(store.RawObject{ID: "x", Value: []byte(`[1]`)}); err == nil {
		t.Error("a stored array read as an object")
	}
}
