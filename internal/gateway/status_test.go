package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// agentClient opens a session to the gateway with cert, as an agent does,
// and returns an HTTP client over it; the session ends with the test.
func agentClient(t *testing.T, e *env, cert tls.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca.CertPEM())
	conn, err := tls.Dial("tcp", e.gw.Load().Addr(), &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ycfg := yamux.DefaultConfig()
	ycfg.LogOutput = io.Discard
	mux, err := yamux.Client(conn, ycfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mux.Close() })
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return mux.Open() },
	}}
}

// postStatus sends one container's status as a status report.
func postStatus(t *testing.T, hc *http.Client, id string, st api.ContainerStatus) {
	t.Helper()
	body, err := json.Marshal(api.StatusReport{Containers: []api.ContainerReport{{ID: id, Status: st}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Post("http://gateway/agent/v1/status", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status report: %s", resp.Status)
	}
}

// A status report older than the stored status (an earlier run, or an
// earlier state of the same run) is dropped; a newer one, and one without
// a run (an agent of the previous version), is written.
func TestStaleStatusReportDropped(t *testing.T) {
	e := newEnv(t)
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	c := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: "s1", Slot: 1, Node: "n1", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerRunning, Run: 4, PID: 40}}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	hc := agentClient(t, e, cert)
	code := 1
	step := func(what string, st api.ContainerStatus, wantState api.ContainerState, wantRun, wantPID int) {
		t.Helper()
		postStatus(t, hc, "c1", st)
		got := e.container("c1").Status
		if got.State != wantState || got.Run != wantRun || got.PID != wantPID {
			t.Errorf("%s: stored %s run %d pid %d, want %s run %d pid %d", what, got.State, got.Run, got.PID, wantState, wantRun, wantPID)
		}
	}
	// The exit of run 3, reported late, does not overwrite run 4's Running.
	step("an older run's exit", api.ContainerStatus{State: api.ContainerStopped, Run: 3, ExitCode: &code}, api.ContainerRunning, 4, 40)
	step("an earlier state of the same run", api.ContainerStatus{State: api.ContainerStarting, Run: 4}, api.ContainerRunning, 4, 40)
	step("the same run moving on", api.ContainerStatus{State: api.ContainerStopped, Run: 4, ExitCode: &code}, api.ContainerStopped, 4, 0)
	step("run 4's Running replayed", api.ContainerStatus{State: api.ContainerRunning, Run: 4, PID: 40}, api.ContainerStopped, 4, 0)
	step("a new run", api.ContainerStatus{State: api.ContainerRunning, Run: 5, PID: 50}, api.ContainerRunning, 5, 50)
	// An agent of the previous version sends no run: taken as before, and
	// the stored run is kept for the next numbered report.
	step("a report without a run", api.ContainerStatus{State: api.ContainerStopped, ExitCode: &code}, api.ContainerStopped, 5, 0)
	step("run 5 replayed after it", api.ContainerStatus{State: api.ContainerRunning, Run: 5, PID: 50}, api.ContainerStopped, 5, 0)
	// Only the accepted changes are events.
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, ev := range all {
		if ev.Kind == "container" && ev.Object == "c1" && ev.Type == "state" {
			states = append(states, ev.State)
		}
	}
	if want := []string{"Stopped", "Running", "Stopped"}; !slices.Equal(states, want) {
		t.Errorf("container events %v, want %v", states, want)
	}
}

// The agent numbers each run of a container, counting on from the stored
// run: after a crash and a restart by autorestart, and after an agent
// restart that found the container gone, each run is newer than the last,
// so that none of its reports is taken for a stale one.
func TestAgentNumbersRuns(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := e.startAgent(dir, "host-runs", e.token, newMemDriver())
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	c := &api.Container{Meta: api.Meta{ID: "r1", Name: "runs-1"},
		Spec: api.ContainerSpec{Service: "runs", Slot: 1, Node: id, Command: []string{"sleep", "600"},
			Desired: api.ContainerRunning, Autorestart: api.PolicyAlways},
		Status: api.ContainerStatus{State: api.ContainerPending}}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	waitRun := func(run int) {
		t.Helper()
		eventually(t, 10*time.Second, fmt.Sprintf("run %d Running", run), func() error {
			if st := e.container("r1").Status; st.State != api.ContainerRunning || st.Run != run {
				return fmt.Errorf("%s run %d", st.State, st.Run)
			}
			return nil
		})
	}
	waitRun(1)
	if err := p.drv.end("r1", 1); err != nil {
		t.Fatal(err)
	}
	waitRun(2)
	// A new agent process on an empty driver: it learns run 2 from the
	// assignments and starts run 3.
	p.stop()
	p = e.startAgent(dir, "host-runs", "", newMemDriver())
	waitRun(3)
	if n := p.drv.startCount("r1"); n != 1 {
		t.Errorf("the new agent started r1 %d times", n)
	}
}

// A container's state event names its node by name, as the tables do
// (issue 13, item 7); the node's ID stays in the container's spec.
func TestStateEventNamesTheNode(t *testing.T) {
	e := newEnv(t)
	cert, serial := nodeCert(t, e.ca, "a10e787f")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "a10e787f", Name: "alpha"}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	c := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: "s1", Slot: 1, Node: "a10e787f", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerPending}}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	postStatus(t, agentClient(t, e, cert), "c1", api.ContainerStatus{State: api.ContainerRunning, Run: 1, PID: 7})
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, ev := range all {
		if ev.Kind == "container" && ev.Object == "c1" && ev.Type == "state" {
			msgs = append(msgs, ev.Message)
		}
	}
	if want := []string{"Running on node alpha"}; !slices.Equal(msgs, want) {
		t.Errorf("container events %q, want %q", msgs, want)
	}
}

// Reports that arrive together from many nodes share transactions (group
// commit): every container is written with its own node's report and one
// state event each, and a report about a container placed on another node
// is still ignored.
func TestConcurrentReportsAllWritten(t *testing.T) {
	e := newEnv(t)
	const nodes = 8
	clients := make([]*http.Client, nodes)
	for i := range nodes {
		id := fmt.Sprintf("n%d", i)
		cert, serial := nodeCert(t, e.ca, id)
		if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: id, Name: "node-" + id}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
			t.Fatal(err)
		}
		c := &api.Container{Meta: api.Meta{ID: "c" + id, Name: "web-" + id},
			Spec:   api.ContainerSpec{Service: "s1", Slot: i + 1, Node: id, Desired: api.ContainerRunning},
			Status: api.ContainerStatus{State: api.ContainerPending}}
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
		clients[i] = agentClient(t, e, cert)
	}
	done := make(chan struct{})
	for i := range nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			// Its own container; n0 also its neighbour's (placed elsewhere).
			reports := []api.ContainerReport{{ID: fmt.Sprintf("cn%d", i), Status: api.ContainerStatus{State: api.ContainerRunning, Run: 1, PID: 100 + i}}}
			if i == 0 {
				reports = append(reports, api.ContainerReport{ID: "cn1", Status: api.ContainerStatus{State: api.ContainerStopped, Run: 1}})
			}
			body, _ := json.Marshal(api.StatusReport{Containers: reports})
			resp, err := clients[i].Post("http://gateway/agent/v1/status", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status report of n%d: %s", i, resp.Status)
			}
		}()
	}
	for range nodes {
		<-done
	}
	for i := range nodes {
		var c api.Container
		if err := e.st.Get(e.ctx, store.KindContainers, fmt.Sprintf("cn%d", i), &c); err != nil {
			t.Fatal(err)
		}
		if c.Status.State != api.ContainerRunning || c.Status.PID != 100+i {
			t.Errorf("cn%d: %s pid %d, want Running pid %d (its own node's report)", i, c.Status.State, c.Status.PID, 100+i)
		}
	}
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range all {
		if ev.Kind == "container" && ev.Type == "state" {
			count[ev.Object]++
			if want := "Running on node node-" + ev.Object[1:]; ev.Message != want {
				t.Errorf("event %q, want %q", ev.Message, want)
			}
		}
	}
	for i := range nodes {
		if id := fmt.Sprintf("cn%d", i); count[id] != 1 {
			t.Errorf("%s: %d state events, want 1", id, count[id])
		}
	}
}
