package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wharfhq/wharf/internal/relay/wire"
)

// streamBatch is the most bytes written up the stream at once.
const streamBatch = 64 << 10

// Serve holds the relay stream open with the server: one POST to url
// (the session's base address plus wire.Path) over client, whose body
// carries the captured frames up while its answer carries the peers'
// frames down. It returns when ctx ends or the stream breaks; the agent
// calls it again, after a pause, while its session lasts. client must
// have no overall timeout (http.Client.Timeout 0).
func (r *Relay) Serve(ctx context.Context, client *http.Client, url string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	up := make(chan error, 1)
	go func() {
		err := r.writeUp(ctx, pw)
		pw.CloseWithError(err)
		up <- err
	}()
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		<-up
		return fmt.Errorf("relay: open the stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		cancel()
		<-up
		return fmt.Errorf("relay: the server refused the stream: %s (a server without the relay answers 404)", resp.Status)
	}
	down := make(chan error, 1)
	go func() { down <- r.readDown(resp.Body) }()
	upDone := false
	select {
	case err = <-up:
		upDone = true
	case err = <-down:
	}
	cancel()
	resp.Body.Close()
	pw.CloseWithError(context.Canceled)
	if upDone {
		<-down
	} else {
		<-up
	}
	if err == nil || errors.Is(err, context.Canceled) {
		err = ctx.Err()
	}
	return err
}

// writeUp writes queued records to w, several at a time.
func (r *Relay) writeUp(ctx context.Context, w io.Writer) error {
	batch := make([]byte, 0, streamBatch)
	for {
		var rec []byte
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
			return errors.New("relay closed")
		case rec = <-r.up:
		}
		batch = append(batch[:0], rec...)
	more:
		for len(batch) < streamBatch {
			select {
			case rec = <-r.up:
				batch = append(batch, rec...)
			default:
				break more
			}
		}
		if _, err := w.Write(batch); err != nil {
			return err
		}
	}
}

// readDown injects the frames the server sends.
func (r *Relay) readDown(body io.Reader) error {
	rd := wire.NewReader(body)
	for {
		rec, err := rd.Read()
		if err != nil {
			if err == io.EOF {
				return errors.New("relay: the server ended the stream")
			}
			return err
		}
		_ = r.Deliver(rec.Node, rec.VNI, rec.Frame)
	}
}
