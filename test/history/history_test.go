package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Sizes of a run: services (registers), concurrent clients, and how long
// they run (WHARF_HISTORY_LONG=1 for the long form).
const (
	services = 3
	clients  = 6
)

// The register's value lives in spec.update.parallelism: changing it starts
// no rollout, so no controller writes the service meanwhile and every
// revision change is one of the test's writes.
type serviceDoc struct {
	Revision int64 `json:"revision"`
	Spec     struct {
		Update struct {
			Parallelism int64 `json:"parallelism"`
		} `json:"update"`
	} `json:"spec"`
}

// recorder collects operations with call and return times relative to the
// start of the run.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) + 1 }

func (r *recorder) add(client int, in input, call int64, out output, ret int64) {
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	r.mu.Unlock()
}

type counts struct {
	reads, okWrites, conflicts, unknowns, notSent, kills atomic.Int64
}

// TestCASHistoryUnderKills: concurrent readers and compare-and-swap writers
// on a few services while the server is killed -9 and restarted; the
// history must be linearizable.
func TestCASHistoryUnderKills(t *testing.T) {
	run := 20 * time.Second
	if os.Getenv("WHARF_HISTORY_LONG") != "" {
		run = 3 * time.Minute
	}
	srv := newServer(t)
	rec := &recorder{}
	names := make([]string, services)
	initial := make([]porcupine.Operation, services)
	for i := range names {
		names[i] = "hist-" + strconv.Itoa(i)
		body := fmt.Sprintf(`{"name":%q,"spec":{"command":["sleep","60"],"driver":"fake","replicas":0,"update":{"parallelism":1}}}`, names[i])
		if code, b, err := call(srv, http.MethodPost, "/v1/services", "", body); err != nil || code != http.StatusCreated {
			t.Fatalf("create %s: %d %s %v", names[i], code, b, err)
		}
	}
	// Let whatever the controller writes after a create settle, then take
	// each service's state as the start of the history.
	time.Sleep(2 * time.Second)
	for i, name := range names {
		doc, err := read(srv, name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		initial[i] = porcupine.Operation{Input: input{Key: name, Op: opInit, Rev: doc.Revision, Value: doc.Spec.Update.Parallelism}, Output: output{}}
	}
	rec.start = time.Now()

	var n counts
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() { client(ctx, t, srv, rec, &n, c, names) })
	}
	injectorDone := make(chan struct{})
	go func() {
		defer close(injectorDone)
		injector(ctx, t, srv, &n)
	}()
	wg.Wait()
	<-injectorDone
	if t.Failed() {
		return
	}

	history := append(initial, rec.ops...)
	t.Logf("%d operations in %s: %d reads, %d writes ok, %d conflicts (409), %d unknown outcomes, %d never sent; %d kills",
		len(history)-services, run, n.reads.Load(), n.okWrites.Load(), n.conflicts.Load(), n.unknowns.Load(), n.notSent.Load(), n.kills.Load())
	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, 2*time.Minute)
	t.Logf("porcupine: %s in %s", res, time.Since(checkStart).Round(time.Millisecond))
	if res != porcupine.Ok {
		f, err := os.CreateTemp("", "wharf-history-*.html")
		if err == nil {
			_ = porcupine.Visualize(registerModel, info, f)
			_ = f.Close()
			t.Logf("visualization: %s", f.Name())
		}
		t.Fatalf("history is %s, not linearizable", res)
	}
	if n.okWrites.Load() < 10 || n.kills.Load() < 2 {
		t.Fatalf("too little happened to prove anything: %d writes ok, %d kills", n.okWrites.Load(), n.kills.Load())
	}
}

// client reads and compare-and-swaps random services until ctx ends. Each
// write expects the revision of the client's last read of that service
// and writes a value no other write uses.
func client(ctx context.Context, t *testing.T, srv *server, rec *recorder, n *counts, id int, names []string) {
	rng := rand.New(rand.NewPCG(uint64(id), 42))
	last := map[string]int64{}
	seq := int64(0)
	for ctx.Err() == nil {
		name := names[rng.IntN(len(names))]
		if exp, ok := last[name]; ok && rng.IntN(2) == 0 {
			seq++
			value := int64(id+1)*1_000_000 + seq
			in := input{Key: name, Op: opCAS, Expect: exp, Value: value}
			body := fmt.Sprintf(`{"spec":{"update":{"parallelism":%d}}}`, value)
			callAt := rec.now()
			code, b, err := call(srv, http.MethodPatch, "/v1/services/"+name, strconv.FormatInt(exp, 10), body)
			retAt := rec.now()
			switch {
			case err != nil && notSent(err):
				n.notSent.Add(1)
			case err != nil || code >= 500:
				// No answer: it may have taken effect, at any time from
				// now on.
				rec.add(id, in, callAt, output{Result: resUnknown}, math.MaxInt64)
				n.unknowns.Add(1)
			case code == http.StatusOK:
				var doc serviceDoc
				if json.Unmarshal(b, &doc) != nil || doc.Spec.Update.Parallelism != value {
					t.Errorf("PATCH %s answered 200 with %s", name, b)
					return
				}
				rec.add(id, in, callAt, output{Result: resOK, Rev: doc.Revision}, retAt)
				last[name] = doc.Revision
				n.okWrites.Add(1)
			case code == http.StatusConflict:
				rec.add(id, in, callAt, output{Result: resConflict}, retAt)
				delete(last, name)
				n.conflicts.Add(1)
			default:
				t.Errorf("PATCH %s: unexpected %d %s", name, code, b)
				return
			}
		} else {
			callAt := rec.now()
			doc, err := read(srv, name)
			retAt := rec.now()
			if err == nil {
				rec.add(id, input{Key: name, Op: opRead}, callAt, output{Rev: doc.Revision, Value: doc.Spec.Update.Parallelism}, retAt)
				last[name] = doc.Revision
				n.reads.Add(1)
			} else {
				// A read without an answer constrains nothing: leave it
				// out, and give a restarting server a moment.
				time.Sleep(50 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
	}
}

// injector kills the server -9 at random moments while it serves, and
// starts it again on the same data dir and address.
func injector(ctx context.Context, t *testing.T, srv *server, n *counts) {
	rng := rand.New(rand.NewPCG(7, 7))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(1500+rng.IntN(2500)) * time.Millisecond):
		}
		if ctx.Err() != nil {
			return
		}
		srv.Kill()
		n.kills.Add(1)
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		srv.Start()
	}
}

// call sends one request with the admin token; ifMatch "" sends none.
func call(srv *server, method, path, ifMatch, body string) (int, []byte, error) {
	hc, token := srv.hc, srv.Token()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

func read(srv *server, name string) (serviceDoc, error) {
	var doc serviceDoc
	code, b, err := call(srv, http.MethodGet, "/v1/services/"+name, "", "")
	if err != nil {
		return doc, err
	}
	if code != http.StatusOK {
		return doc, fmt.Errorf("GET %s: %d %s", name, code, b)
	}
	return doc, json.Unmarshal(b, &doc)
}

// notSent reports whether a request failed before it could reach the
// server (the connection was refused), so it certainly took no effect.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
