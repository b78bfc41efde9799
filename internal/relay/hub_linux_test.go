package relay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/relay/wire"
)

// testHub stands in for the gateway's hub over real HTTP streams (the
// node is named by a header here; the gateway knows it from the session).
// It checks nothing: the gateway's tests cover isolation.
type testHub struct {
	mu    sync.Mutex
	downs map[string]chan []byte
}

func (h *testHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	node := r.Header.Get("X-Test-Node")
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	down := make(chan []byte, 512)
	h.mu.Lock()
	h.downs[node] = down
	h.mu.Unlock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait() // the writer must be done before the handler returns
	defer close(stop)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case b := <-down:
			more:
				for len(b) < 64<<10 {
					select {
					case x := <-down:
						b = append(b, x...)
					default:
						break more
					}
				}
				if _, err := w.Write(b); err != nil {
					return
				}
				_ = rc.Flush()
			}
		}
	})
	rd := wire.NewReader(r.Body)
	for {
		rec, err := rd.Read()
		if err != nil {
			return
		}
		h.mu.Lock()
		dst := h.downs[rec.Node]
		h.mu.Unlock()
		out, _ := wire.Append(nil, wire.Record{Node: node, VNI: rec.VNI, Frame: rec.Frame})
		select {
		case dst <- out:
		default:
		}
	}
}

// headerClient adds the node's header to every request.
type headerClient struct {
	node string
	rt   http.RoundTripper
}

func (c headerClient) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Node", c.node)
	return c.rt.RoundTrip(r)
}

// useStreams joins the topology's relays through testHub and Serve.
func (tp *topology) useStreams(t *testing.T) {
	hub := &testHub{downs: map[string]chan []byte{}}
	srv := httptest.NewServer(hub)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); srv.CloseClientConnections(); wg.Wait(); srv.Close() })
	for _, x := range []*testHost{tp.a, tp.b} {
		x.relay.cfg.Send = nil
		client := &http.Client{Transport: headerClient{node: x.name, rt: srv.Client().Transport}}
		wg.Go(func() {
			for ctx.Err() == nil {
				_ = x.relay.Serve(ctx, client, srv.URL+wire.Path)
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		hub.mu.Lock()
		n := len(hub.downs)
		hub.mu.Unlock()
		if n == 2 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the relays did not open their streams within 5s")
}
