package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// FollowEvents streams events after the cursor since: the cursor of the
// last event you saw, "0" for everything kept, or "now" for only the events
// written from now on. It reconnects on its own, resuming from the last event
// delivered, so fn sees every event once and in order. It returns when ctx
// ends or fn returns an error.
func (c *Client) FollowEvents(ctx context.Context, since string, fn func(api.Event) error) error {
	backoff := 250 * time.Millisecond
	for {
		last, err := c.followOnce(ctx, since, fn)
		if last != "" {
			since, backoff = last, 250*time.Millisecond
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if ctx.Err() != nil {
			return nil
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

func (c *Client) followOnce(ctx context.Context, since string, fn func(api.Event) error) (string, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if since != "" {
		h.Set("Last-Event-ID", since)
	}
	body, err := c.Stream(ctx, "/v1/events?stream=1&since="+url.QueryEscape(since), h)
	if err != nil {
		return "", err
	}
	defer func() { _ = body.Close() }()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var last, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		case line == "":
			if data == "" {
				continue
			}
			var e api.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return last, err
			}
			data = ""
			if err := fn(e); err != nil {
				return last, &stopError{err}
			}
			last = e.Cursor()
		}
	}
	return last, sc.Err()
}
