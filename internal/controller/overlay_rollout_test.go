package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestStartFirstOnTheOverlayStopsFirst: a slot's address is in one place
// at a time, so on a node that runs the overlay a start-first update
// stops the old container before its replacement (same address) is made;
// on a node without the overlay start-first stays start-first.
func TestStartFirstOnTheOverlayStopsFirst(t *testing.T) {
	for _, overlay := range []bool{true, false} {
		t.Run(fmt.Sprintf("overlay=%v", overlay), func(t *testing.T) {
			e := newEnv(t)
			e.putNode("n1", api.NodeDeployed, execOnly, nil)
			if overlay {
				var n api.Node
				if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); err != nil {
					t.Fatal(err)
				}
				n.OverlayAddress = "192.0.2.1"
				if err := e.st.Update(e.ctx, store.KindNodes, &n); err != nil {
					t.Fatal(err)
				}
			}
			svc := e.createService("web", api.ServiceSpec{Command: []string{"x"}, Replicas: 1,
				Update: api.UpdateConfig{Order: api.OrderStartFirst}})
			e.agentsUntil(svc.ID, func(cs []*api.Container) error {
				if len(cs) != 1 || cs[0].Status.State != api.ContainerRunning {
					return fmt.Errorf("containers: %s", describe(cs))
				}
				return nil
			})
			old := e.containers(svc.ID)[0]
			e.modifyService(svc.ID, func(s *api.Service) { s.RestartGeneration = 1 })
			// No agent plays now: with the overlay the old container is
			// desired Terminated and no replacement is made while it has
			// not ended; without, the replacement comes while it runs.
			e.eventually(5*time.Second, func() error {
				cs := e.containers(svc.ID)
				if overlay {
					if len(cs) == 1 && cs[0].ID == old.ID && cs[0].Spec.Desired == api.ContainerTerminated {
						return nil
					}
				} else if len(cs) == 2 && (cs[0].ID == old.ID || cs[1].ID == old.ID) {
					for _, c := range cs {
						if c.ID == old.ID && c.Spec.Desired != api.ContainerRunning {
							t.Fatalf("without the overlay the old container was stopped first: %s", describe(cs))
						}
					}
					return nil
				}
				if len(cs) > 1 && overlay {
					t.Fatalf("a replacement beside the old container on the overlay: %s", describe(cs))
				}
				return fmt.Errorf("containers: %s", describe(cs))
			})
			if overlay {
				time.Sleep(300 * time.Millisecond)
				if cs := e.containers(svc.ID); len(cs) != 1 {
					t.Fatalf("a replacement before the old container ended: %s", describe(cs))
				}
			}
		})
	}
}

// TestLinksOnTheOverlay: a link's variables name the linked container's
// overlay address and its own port when its node runs the overlay, and
// its node's address and host port when it does not.
func TestLinksOnTheOverlay(t *testing.T) {
	for _, overlay := range []bool{true, false} {
		t.Run(fmt.Sprintf("overlay=%v", overlay), func(t *testing.T) {
			e := newEnv(t)
			e.putNode("n1", api.NodeDeployed, execOnly, nil)
			var n api.Node
			if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); err != nil {
				t.Fatal(err)
			}
			n.Addresses = []string{"198.51.100.7"}
			if overlay {
				n.OverlayAddress = "192.0.2.1"
			}
			if err := e.st.Update(e.ctx, store.KindNodes, &n); err != nil {
				t.Fatal(err)
			}
			db := e.createService("db", api.ServiceSpec{Command: []string{"x"}, Replicas: 1})
			var dbIP string
			e.eventually(10*time.Second, func() error {
				cs := e.containers(db.ID)
				if len(cs) != 1 {
					return fmt.Errorf("db: %s", describe(cs))
				}
				dbIP = ipOf(cs[0], defaultNet)
				var c api.Container
				return e.st.Modify(e.ctx, store.KindContainers, cs[0].ID, &c, func() ([]api.Event, error) {
					c.Status.State, c.Status.HostPort = api.ContainerRunning, 31000
					return nil, nil
				})
			})
			web := e.createService("web", api.ServiceSpec{Command: []string{"x"}, Replicas: 1, Links: []string{"db"}})
			var env map[string]string
			e.eventually(10*time.Second, func() error {
				cs := e.containers(web.ID)
				if len(cs) != 1 {
					return fmt.Errorf("web: %s", describe(cs))
				}
				env = cs[0].Spec.Env
				return nil
			})
			addr, port := "198.51.100.7", "31000"
			if overlay {
				addr = dbIP
			}
			if dbIP == "" || env["DB_1_PORT_31000_TCP_ADDR"] != addr || env["DB_1_PORT_31000_TCP_PORT"] != port ||
				env["DB_1_PORT"] != "tcp://"+addr+":"+port {
				t.Fatalf("link variables %v, want %s:%s (db-1 at %s)", env, addr, port, dbIP)
			}
		})
	}
}
