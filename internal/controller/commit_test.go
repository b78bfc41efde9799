package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// A pass whose writes need several transactions (sent several at a time)
// writes every container once, with one created event each, and every
// service's status.
func TestPassOfManyTransactions(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	const services, replicas = 12, 60 // about 180 operations each: 3 transactions
	// One transaction, so that one pass sees them all.
	txn := e.st.Txn()
	var ids []string
	for i := range services {
		name := fmt.Sprintf("s%02d", i)
		s := &api.Service{Meta: api.Meta{ID: randomID(), Name: name},
			Spec:   api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: replicas, Running: true},
			Status: api.ServiceStatus{State: api.ServiceNotRunning}}
		txn.Create(store.KindServices, s)
		txn.Create(store.KindNames, &nameIdx{Meta: api.Meta{ID: "services." + name}, Target: s.ID})
		ids = append(ids, s.ID)
	}
	if err := txn.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		e.eventually(20*time.Second, func() error {
			cs := e.containers(id)
			if len(cs) != replicas {
				return fmt.Errorf("service %s: %d containers, want %d", id, len(cs), replicas)
			}
			for _, c := range cs {
				if c.Spec.Node == "" {
					return fmt.Errorf("container %s not placed", c.ID)
				}
			}
			s, err := e.service(id)
			if err != nil {
				return err
			}
			if s.Status.State == api.ServiceNotRunning {
				return fmt.Errorf("service %s: status not written yet", id)
			}
			return nil
		})
	}
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]int{}
	for _, ev := range all {
		if ev.Kind == "container" && ev.Type == "created" {
			created[ev.Object]++
		}
	}
	if len(created) != services*replicas {
		t.Errorf("%d containers with a created event, want %d", len(created), services*replicas)
	}
	for id, n := range created {
		if n != 1 {
			t.Errorf("container %s: %d created events, want 1", id, n)
		}
	}
}
