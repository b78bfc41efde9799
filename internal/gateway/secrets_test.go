package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// pushLog records the raw assignment bodies the gateway pushed to one
// fake agent.
type pushLog struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (p *pushLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/agent/v1/assignments" {
		p.mu.Lock()
		p.bodies = append(p.bodies, b)
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// last is the latest pushed set, decoded.
func (p *pushLog) last() (api.Assignments, [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var a api.Assignments
	if n := len(p.bodies); n > 0 {
		_ = json.Unmarshal(p.bodies[n-1], &a)
	}
	return a, append([][]byte(nil), p.bodies...)
}

// TestSecretsGoOnlyToConsumers: the node that runs a container using a
// secret receives its value with its assignments; a node without one
// never receives it, in any push.
func TestSecretsGoOnlyToConsumers(t *testing.T) {
	var sealer *seal.Sealer
	e := newEnv(t, func(c *gateway.Config) {
		if sealer == nil {
			kek, err := seal.NewKEK()
			if err != nil {
				t.Fatal(err)
			}
			if _, sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
				t.Fatal(err)
			}
		}
		c.Sealer = sealer
	})
	const value = "gateway-CANARY-1b2c3d"
	sealed, err := sealer.Seal(records.SealPurpose("", "db"), []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	sec := &records.Secret{Meta: api.Meta{ID: "sec1", Name: "db"}, Sealed: sealed, Size: len(value), Version: 3}
	t1 := e.st.Txn()
	t1.Create(store.KindSecrets, sec)
	t1.Create(store.KindNames, &struct{ api.Meta }{api.Meta{ID: records.SecretNameKey("", "db"), Name: sec.ID}})
	if err := t1.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}

	logs := map[string]*pushLog{}
	for _, n := range []string{"n1", "n2"} {
		cert, serial := nodeCert(t, e.ca, n)
		if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: n}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
			t.Fatal(err)
		}
		logs[n] = &pushLog{}
		dialFakeAgent(t, e, cert, logs[n])
	}
	ctrs := []*api.Container{
		{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s1", Slot: 1, Node: "n1", Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning, Secrets: []api.SecretRef{{Source: "db", Target: "pw"}, {Source: "db", Target: "pw2", Mode: 0o444}}}},
		{Meta: api.Meta{ID: "c2", Name: "other-1"}, Spec: api.ContainerSpec{Service: "s2", Slot: 1, Node: "n2", Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning}},
	}
	for _, c := range ctrs {
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "n1 receives c1 with its secret", func() error {
		a, _ := logs["n1"].last()
		files := a.Secrets["c1"]
		if len(a.Containers) != 1 || len(files) != 2 {
			return fmt.Errorf("last push %+v", a)
		}
		for i, want := range []api.SecretFile{{Target: "pw", Mode: 0o400}, {Target: "pw2", Mode: 0o444}} {
			f := files[i]
			if f.Target != want.Target || f.Mode != want.Mode || string(f.Data) != value || f.Version != "sec1.3" {
				return fmt.Errorf("file %d: %+v", i, f)
			}
		}
		return nil
	})
	eventually(t, 10*time.Second, "n2 receives c2", func() error {
		if a, _ := logs["n2"].last(); len(a.Containers) != 1 || a.Containers[0].ID != "c2" {
			return fmt.Errorf("last push %+v", a)
		}
		return nil
	})

	// A stopped container's node is not sent the value any more.
	c1 := e.container("c1")
	c1.Spec.Desired = api.ContainerStopped
	if err := e.st.Update(e.ctx, store.KindContainers, &c1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "n1 receives c1 stopped, without the secret", func() error {
		a, _ := logs["n1"].last()
		if len(a.Containers) != 1 || a.Containers[0].Spec.Desired != api.ContainerStopped || len(a.Secrets) != 0 {
			return fmt.Errorf("last push %+v", a)
		}
		return nil
	})

	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	_, bodies := logs["n2"].last()
	for _, b := range bodies {
		if bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte(b64)) {
			t.Fatalf("n2, which runs no container using the secret, received it: %s", b)
		}
	}
	// The store's containers never hold the value either.
	res, err := e.st.List(e.ctx, store.KindContainers, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if bytes.Contains(it.Value, []byte(b64)) || bytes.Contains(it.Value, []byte(value)) {
			t.Fatalf("container %s stored with the value", it.ID)
		}
	}
}

// TestSecretBudgetKeepsTheNodeServed: containers whose secrets would make
// a push too large go without them (and do not start), and the node still
// gets its assignments.
func TestSecretBudgetKeepsTheNodeServed(t *testing.T) {
	t.Cleanup(gateway.SetMaxPushSecretBytes(15))
	var sealer *seal.Sealer
	e := newEnv(t, func(c *gateway.Config) {
		if sealer == nil {
			kek, _ := seal.NewKEK()
			var err error
			if _, sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
				t.Fatal(err)
			}
		}
		c.Sealer = sealer
	})
	const value = "ten-bytes!"
	sealed, err := sealer.Seal(records.SealPurpose("", "db"), []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	t1 := e.st.Txn()
	t1.Create(store.KindSecrets, &records.Secret{Meta: api.Meta{ID: "sec1", Name: "db"}, Sealed: sealed, Size: len(value), Version: 1})
	t1.Create(store.KindNames, &struct{ api.Meta }{api.Meta{ID: records.SecretNameKey("", "db"), Name: "sec1"}})
	if err := t1.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	log := &pushLog{}
	dialFakeAgent(t, e, cert, log)
	for _, id := range []string{"c1", "c2", "c3"} {
		c := &api.Container{Meta: api.Meta{ID: id}, Spec: api.ContainerSpec{Service: "s", Node: "n1", Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning}}
		if id != "c3" {
			c.Spec.Secrets = []api.SecretRef{{Source: "db"}}
		}
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "n1 receives its three containers, c2 without its secret", func() error {
		a, _ := log.last()
		if len(a.Containers) != 3 || len(a.Secrets["c1"]) != 1 || len(a.Secrets["c2"]) != 0 {
			return fmt.Errorf("last push %+v", a)
		}
		return nil
	})
}

// startFakeAgent runs an agent with the runtime's fake driver.
func (e *env) startFakeAgent(host string) (*fake.Driver, string) {
	e.t.Helper()
	drv := fake.New()
	a, err := agent.New(agent.Config{
		ServerURL: e.api.URL, JoinToken: e.token, DataDir: e.t.TempDir(), Drivers: []runtime.Driver{drv},
		HeartbeatInterval: 200 * time.Millisecond, Hostname: host, Logger: e.log,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	id := waitAgentID(e.t, &agentProc{a: a, done: done})
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	return drv, id
}

// TestAgentsGetOnlyTheirSecrets, through real agents: the consumer's
// driver gets the file, the other node's driver gets nothing, and a
// container whose secret is gone does not start and says why.
func TestAgentsGetOnlyTheirSecrets(t *testing.T) {
	var sealer *seal.Sealer
	e := newEnv(t, func(c *gateway.Config) {
		if sealer == nil {
			kek, _ := seal.NewKEK()
			var err error
			if _, sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
				t.Fatal(err)
			}
		}
		c.Sealer = sealer
	})
	const value = "agent-CANARY-77aa"
	sealed, err := sealer.Seal(records.SealPurpose("", "db"), []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	t1 := e.st.Txn()
	t1.Create(store.KindSecrets, &records.Secret{Meta: api.Meta{ID: "sec1", Name: "db"}, Sealed: sealed, Size: len(value), Version: 1})
	t1.Create(store.KindNames, &struct{ api.Meta }{api.Meta{ID: records.SecretNameKey("", "db"), Name: "sec1"}})
	if err := t1.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	d1, n1 := e.startFakeAgent("host-1")
	d2, n2 := e.startFakeAgent("host-2")
	for _, c := range []*api.Container{
		{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s1", Slot: 1, Node: n1, Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning, Secrets: []api.SecretRef{{Source: "db"}}}},
		{Meta: api.Meta{ID: "c2", Name: "other-1"}, Spec: api.ContainerSpec{Service: "s2", Slot: 1, Node: n2, Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning}},
		{Meta: api.Meta{ID: "c3", Name: "lost-1"}, Spec: api.ContainerSpec{Service: "s3", Slot: 1, Node: n2, Command: []string{"x"}, Driver: "fake",
			Desired: api.ContainerRunning, Secrets: []api.SecretRef{{Source: "gone"}}}},
	} {
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
	}
	e.waitContainerState("c1", api.ContainerRunning)
	e.waitContainerState("c2", api.ContainerRunning)
	if f := d1.SecretFiles("c1")["db"]; string(f.Data) != value || f.Mode != api.DefaultSecretMode {
		t.Fatalf("c1's files %+v", d1.SecretFiles("c1"))
	}
	if s, _ := d1.LastSpec("c1"); s.SecretsVersion != "db:400:sec1.1" {
		t.Fatalf("c1's secrets version %q", s.SecretsVersion)
	}
	if f := d2.SecretFiles("c2"); f != nil {
		t.Fatalf("c2 got secret files %+v", f)
	}
	eventually(t, 10*time.Second, "c3 refused", func() error {
		c := e.container("c3")
		if c.Status.State != api.ContainerStopped || !strings.Contains(c.Status.Reason, "did not send secret gone") {
			return fmt.Errorf("status %+v", c.Status)
		}
		return nil
	})
	if _, ok := d2.LastSpec("c3"); ok {
		t.Fatal("c3 reached the driver without its secret")
	}
}
