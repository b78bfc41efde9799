package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// TestRegistryAuthsGoOnlyToPullers: a node receives the credential of a
// registry only while it runs a container whose image comes from there
// (and may be pulled: not pull policy never), and the built-in
// registry's node credential for images on its host; another node never
// receives them.
func TestRegistryAuthsGoOnlyToPullers(t *testing.T) {
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
		c.BuiltinRegistryAuth = func(_ context.Context, n api.Node) (string, api.RegistryAuth, bool) {
			return "wharf.internal:7445", api.RegistryAuth{Username: "node-" + n.ID, Password: "builtin-" + n.ID}, true
		}
	})
	const password = "reg-gw-CANARY-77aa"
	for _, host := range []string{"reg.example:5000", "never.example"} {
		sealed, err := sealer.Seal(records.RegistryAuthPurpose("acme", host), []byte(password))
		if err != nil {
			t.Fatal(err)
		}
		r := &records.RegistryAuth{Meta: api.Meta{ID: records.RegistryAuthID("acme", host), Name: host, Org: "acme"}, Username: "robot", Sealed: sealed}
		if err := e.st.Create(e.ctx, store.KindRegistryAuths, r); err != nil {
			t.Fatal(err)
		}
	}
	logs := map[string]*pushLog{}
	for _, n := range []string{"n1", "n2"} {
		cert, serial := nodeCert(t, e.ca, n)
		if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: n, Org: "acme"}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
			t.Fatal(err)
		}
		logs[n] = &pushLog{}
		dialFakeAgent(t, e, cert, logs[n])
	}
	ctr := func(id, node, image, policy string, desired api.ContainerState) *api.Container {
		return &api.Container{Meta: api.Meta{ID: id, Name: id, Org: "acme"}, Spec: api.ContainerSpec{Service: "s-" + id, Slot: 1, Node: node,
			Image: image, PullPolicy: policy, Driver: "fake", Desired: desired}}
	}
	for _, c := range []*api.Container{
		ctr("c1", "n1", "reg.example:5000/app/web:1@sha256:0000000000000000000000000000000000000000000000000000000000000000", "", api.ContainerRunning),
		ctr("c2", "n1", "wharf.internal:7445/acme/api:3", api.PullAlways, api.ContainerRunning),
		ctr("c3", "n1", "never.example/only/loaded:1", api.PullNever, api.ContainerRunning),
		ctr("c4", "n2", "reg.example:5000/app/web:1", "", api.ContainerStopped),
		ctr("c5", "n2", "nginx:1.27", "", api.ContainerRunning),
	} {
		if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "n1 receives the credentials its images need", func() error {
		a, _ := logs["n1"].last()
		want := map[string]api.RegistryAuth{
			"reg.example:5000":    {Username: "robot", Password: password},
			"wharf.internal:7445": {Username: "node-n1", Password: "builtin-n1"},
		}
		if len(a.Containers) != 3 || fmt.Sprint(a.RegistryAuths) != fmt.Sprint(want) {
			return fmt.Errorf("last push: %d containers, auths %v", len(a.Containers), a.RegistryAuths)
		}
		return nil
	})
	eventually(t, 10*time.Second, "n2 receives its containers", func() error {
		if a, _ := logs["n2"].last(); len(a.Containers) != 2 {
			return fmt.Errorf("last push %+v", a)
		}
		return nil
	})
	_, bodies := logs["n2"].last()
	for _, b := range bodies {
		if bytes.Contains(b, []byte(password)) || bytes.Contains(b, []byte("registry_auths")) {
			t.Fatalf("n2, which pulls from no registry with a credential, received one: %s", b)
		}
	}
	// c1 stops: n1 no longer gets that registry's credential.
	c1 := e.container("c1")
	c1.Spec.Desired = api.ContainerStopped
	if err := e.st.Update(e.ctx, store.KindContainers, &c1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "n1 loses the credential with c1", func() error {
		a, _ := logs["n1"].last()
		if _, ok := a.RegistryAuths["reg.example:5000"]; ok || len(a.RegistryAuths) != 1 {
			return fmt.Errorf("auths %v", a.RegistryAuths)
		}
		return nil
	})
}
