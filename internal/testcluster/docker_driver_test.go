package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// newDockerDriver is a docker driver on the machine's engine whose
// containers are removed, and which is closed, when the test ends.
func newDockerDriver(t *testing.T, o docker.Options) *docker.Driver {
	t.Helper()
	d, err := docker.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		list, _ := d.List(ctx)
		for _, st := range list {
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("cleanup: Remove(%s): %v", st.ID, err)
			}
		}
		d.Close()
	})
	return d
}
