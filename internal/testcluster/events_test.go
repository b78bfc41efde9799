package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestEventStreamSurvivesAServerRestart follows the event stream with the Go
// client while the server restarts: the client reconnects on its own and
// sees every event exactly once, in order.
func TestEventStreamSurvivesAServerRestart(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var seen []api.Event
	done := make(chan error, 1)
	go func() {
		done <- c.Client.FollowEvents(ctx, "0", func(e api.Event) error {
			mu.Lock()
			seen = append(seen, e)
			mu.Unlock()
			return nil
		})
	}()
	create := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := c.Client.CreateService(ctx, fmt.Sprintf("s%d", i), api.ServiceSpec{Command: []string{"true"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	created := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		n := map[string]int{}
		for _, e := range seen {
			if e.Kind == "service" && e.Type == "created" {
				n[e.Name]++
			}
		}
		return n
	}
	create(0, 5)
	Eventually(t, 10*time.Second, func() error {
		if n := len(created()); n != 5 {
			return fmt.Errorf("saw %d of 5 creations", n)
		}
		return nil
	})
	c.RestartServer()
	create(5, 10)
	Eventually(t, 20*time.Second, func() error {
		if n := len(created()); n != 10 {
			return fmt.Errorf("saw %d of 10 creations", n)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for name, k := range created() {
		if k != 1 {
			t.Errorf("creation of %s seen %d times", name, k)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		a, b := seen[i-1], seen[i]
		if a.ID > b.ID || (a.ID == b.ID && a.Seq >= b.Seq) {
			t.Fatalf("events out of order or repeated: %s then %s", a.Cursor(), b.Cursor())
		}
	}
}
