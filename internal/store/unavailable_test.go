package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/etcdtest"
)

// TestQuorumLossIsUnavailable stops two members of a three-member etcd:
// the one left has no leader, and every store operation through it fails
// with ErrUnavailable, not an opaque etcd error, within the store's timeout.
func TestQuorumLossIsUnavailable(t *testing.T) {
	c := etcdtest.Start(t, 3)
	st := store.New(c.Client(0), "/wharf")
	st.SetOpTimeout(3 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // bounds the test, not the store
	defer cancel()
	tok := &api.Token{Meta: api.Meta{ID: "t1"}}
	if err := st.Create(ctx, store.KindTokens, tok); err != nil {
		t.Fatal(err)
	}
	c.Stop(1)
	c.Stop(2)

	var got api.Token
	if err := st.Get(ctx, store.KindTokens, "t1", &got); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get without quorum: %v, want ErrUnavailable", err)
	}
	if _, err := st.List(ctx, store.KindTokens, store.ListOptions{}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("List without quorum: %v, want ErrUnavailable", err)
	}
	if err := st.Create(ctx, store.KindTokens, &api.Token{Meta: api.Meta{ID: "t2"}}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Create without quorum: %v, want ErrUnavailable", err)
	}
	if _, _, err := st.Events(ctx, store.EventCursor{}, 10); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Events without quorum: %v, want ErrUnavailable", err)
	}
}
